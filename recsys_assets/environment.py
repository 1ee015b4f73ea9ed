"""The one place that decides the environment: which implementation plays each role, and where."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from dagster import EnvVar
from dagster_aws.s3 import S3Resource

from recsys_assets.emails.frame import DEFAULT_BRAND, Brand, brand_problems, parse_email_date
from recsys_assets.formats.columns import AUTO
from recsys_assets.formats.reading import FORMATS
from recsys_assets.resources.aws_clients import DEFAULT_MAX_ATTEMPTS, resolve_region
from recsys_assets.resources.bedrock import BedrockEmailWriter
from recsys_assets.resources.campaign import CampaignRules
from recsys_assets.resources.comprehend import ComprehendSentimentAnalyzer
from recsys_assets.resources.dynamodb import DynamoDBProfileStore
from recsys_assets.resources.email_writer import TemplateEmailWriter
from recsys_assets.resources.interaction_rules import InteractionRulesResource
from recsys_assets.resources.io_manager import AssetStoreIOManager
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets.resources.personalize import PersonalizeRecommender
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.resources.profile_store import SqliteProfileStore
from recsys_assets.resources.recommender import LocalRecommender
from recsys_assets.resources.s3 import S3ObjectStore
from recsys_assets.resources.sentiment_analyzer import VaderSentimentAnalyzer
from recsys_assets.segmentation import CATEGORY, SEGMENT_RULES

DEFAULT_HOME = ".recsys"
DEFAULT_INPUT = "data/inbox"

# role -> (variable that overrides it, local implementation, AWS implementation); RECSYS_ENV=aws picks AWS for all
ROLES = {
    "storage": ("RECSYS_STORAGE", "local", "s3"),
    "profiles": ("RECSYS_PROFILES", "sqlite", "dynamodb"),
    "sentiment": ("RECSYS_SENTIMENT", "vader", "comprehend"),
    "recommender": ("RECSYS_RECOMMENDER", "local", "personalize"),
    "email": ("RECSYS_EMAIL", "template", "bedrock"),
}
# RunOptions field -> variable, for the AWS settings
AWS_VARIABLES = {
    "s3_bucket": "RECSYS_S3_BUCKET",
    "s3_prefix": "RECSYS_S3_PREFIX",
    "dynamodb_table_prefix": "RECSYS_DYNAMODB_TABLE_PREFIX",
    "personalize_role_arn": "RECSYS_PERSONALIZE_ROLE_ARN",
    "comprehend_role_arn": "RECSYS_COMPREHEND_ROLE_ARN",
    "bedrock_model_id": "RECSYS_BEDROCK_MODEL_ID",
}
# Brand field -> variable; the secret is read by the email writer itself (EnvVar), so it never sits in the options
BRAND_VARIABLES = {
    "shop_name": "RECSYS_SHOP_NAME",
    "sender": "RECSYS_SENDER",
    "reply_to": "RECSYS_REPLY_TO",
    "logo_url": "RECSYS_LOGO_URL",
    "accent_colour": "RECSYS_ACCENT_COLOUR",
    "postal_address": "RECSYS_POSTAL_ADDRESS",
    "unsubscribe_url": "RECSYS_UNSUBSCRIBE_URL",
    "unsubscribe_mailto": "RECSYS_UNSUBSCRIBE_MAILTO",
    "currency": "RECSYS_CURRENCY",
    "locale": "RECSYS_LOCALE",
}
SECRET_VARIABLE = "RECSYS_UNSUBSCRIBE_SECRET"  # nosec B105: the variable's name, not its value


class SettingsError(ValueError):
    """A RECSYS_* setting is invalid or a chosen implementation lacks a setting it needs."""


@dataclass(frozen=True)
class RunOptions:
    """What a run is pointed at; read from RECSYS_* variables or given by the command line."""

    home: str = DEFAULT_HOME
    input_location: str = DEFAULT_INPUT
    # the inputs' format (AUTO: each file's from its header) and a column-mapping file ("": none)
    input_format: str = AUTO
    column_mapping: str = ""
    num_results: int = 5
    sentiment_workers: int = 0
    segment_rule: str = CATEGORY
    # the implementation of each role (see ROLES)
    storage: str = "local"
    profiles: str = "sqlite"
    sentiment: str = "vader"
    recommender: str = "local"
    email: str = "template"
    # AWS settings (see AWS_VARIABLES); empty bedrock_model_id means the writer's default model
    s3_bucket: str = ""
    s3_prefix: str = "recsys"
    dynamodb_table_prefix: str = "recsys_"
    personalize_role_arn: str = ""
    comprehend_role_arn: str = ""
    bedrock_model_id: str = ""
    # the emails' frame (see BRAND_VARIABLES; its secret stays the demo's here) and their pinned Date, if any
    brand: Brand = DEFAULT_BRAND
    email_date: str = ""
    # None: never recommend what a customer bought; N: again after N days (resources.interaction_rules)
    buy_again_after_days: int | None = None

    def __post_init__(self) -> None:
        for role, (variable, local, aws) in ROLES.items():
            if getattr(self, role) not in (local, aws):
                raise SettingsError(f"{variable}={getattr(self, role)!r}: expected {local} or {aws}")
        if self.input_format not in (AUTO, *FORMATS):
            raise SettingsError(
                f"input_format (RECSYS_INPUT_FORMAT, --format) is {self.input_format!r}: expected "
                f"{', '.join((AUTO, *FORMATS))}"
            )
        if self.num_results < 1:
            raise SettingsError(
                f"num_results (RECSYS_NUM_RESULTS, --num-results) is {self.num_results}: expected 1 or more"
            )
        if self.sentiment_workers < 0:
            raise SettingsError(
                f"sentiment_workers (RECSYS_SENTIMENT_WORKERS, --workers) is {self.sentiment_workers}: "
                "expected 0 or more"
            )
        if self.buy_again_after_days is not None and self.buy_again_after_days < 0:
            raise SettingsError(
                f"RECSYS_BUY_AGAIN_AFTER_DAYS is {self.buy_again_after_days}: expected 0 or more days, or unset (never)"
            )
        if self.segment_rule not in SEGMENT_RULES:
            raise SettingsError(f"RECSYS_SEGMENTS={self.segment_rule!r}: expected one of {', '.join(SEGMENT_RULES)}")
        problems = brand_problems(self.brand)
        if problems:
            raise SettingsError(
                "; ".join(
                    f"{BRAND_VARIABLES[name]}={getattr(self.brand, name)!r} {problem}"
                    if name in BRAND_VARIABLES
                    else f"{SECRET_VARIABLE} {problem}"
                    for name, problem in problems.items()
                )
            )
        if self.email_date:
            try:
                parse_email_date(self.email_date)
            except ValueError as error:
                raise SettingsError(f"RECSYS_EMAIL_DATE: {error}") from None

    @classmethod
    def from_environment(cls) -> RunOptions:
        env = os.environ
        defaults = {field.name: field.default for field in fields(cls)}
        aws_everywhere = env.get("RECSYS_ENV", "local").lower() == "aws"
        roles = {
            role: env.get(variable, aws if aws_everywhere else local).lower()
            for role, (variable, local, aws) in ROLES.items()
        }
        return cls(
            home=env.get("RECSYS_HOME", DEFAULT_HOME),
            input_location=env.get("RECSYS_INPUT", DEFAULT_INPUT),
            input_format=env.get("RECSYS_INPUT_FORMAT", AUTO).lower(),
            column_mapping=env.get("RECSYS_COLUMN_MAP", ""),
            num_results=_whole_number(env, "RECSYS_NUM_RESULTS", defaults["num_results"]),
            sentiment_workers=_whole_number(env, "RECSYS_SENTIMENT_WORKERS", defaults["sentiment_workers"]),
            segment_rule=env.get("RECSYS_SEGMENTS", CATEGORY).lower(),
            **roles,
            **{name: env.get(variable, defaults[name]) for name, variable in AWS_VARIABLES.items()},
            brand=replace(
                DEFAULT_BRAND, **{name: env[variable] for name, variable in BRAND_VARIABLES.items() if variable in env}
            ),
            email_date=env.get("RECSYS_EMAIL_DATE", ""),
            buy_again_after_days=_whole_number(env, "RECSYS_BUY_AGAIN_AFTER_DAYS", None),
        )

    def aws_roles(self) -> list[str]:
        """The roles played by AWS services in this run."""
        return [role for role, (_, _, aws) in ROLES.items() if getattr(self, role) == aws]


def _whole_number(env: Mapping[str, str], variable: str, default: int | None) -> int | None:
    """The variable's value as an integer (default when unset); anything else is a SettingsError naming it."""
    text = env.get(variable)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{variable}={text!r}: expected a whole number") from None


def build_resources(options: RunOptions) -> dict:
    """The resources for one run: each role's implementation as `options` chooses (local by default)."""
    storage = _storage(options)
    return {
        "storage": storage,
        "io_manager": AssetStoreIOManager(store=storage),
        "profiles": (
            DynamoDBProfileStore(table_prefix=options.dynamodb_table_prefix)
            if options.profiles == "dynamodb"
            else SqliteProfileStore(path=os.path.join(options.home, "profiles.sqlite"))
        ),
        "sentiment": (
            ComprehendSentimentAnalyzer(
                job_bucket=options.s3_bucket if options.comprehend_role_arn else "",
                job_prefix=f"{options.s3_prefix.strip('/')}/comprehend".lstrip("/"),
                job_role_arn=options.comprehend_role_arn,
            )
            if options.sentiment == "comprehend"
            else VaderSentimentAnalyzer(workers=options.sentiment_workers)
        ),
        "recommender": _recommender(options, storage),
        "email_writer": _email_writer(options),
        "campaign": CampaignRules(),
        "interaction_rules": InteractionRulesResource(buy_again_after_days=options.buy_again_after_days),
        # a local input path is relative to where the command runs, not to the output folder; an S3 one is a key
        "settings": PipelineSettings(
            input_location=options.input_location
            if options.storage == "s3"
            else os.path.abspath(options.input_location),
            input_format=options.input_format,
            column_mapping=os.path.abspath(options.column_mapping) if options.column_mapping else "",
            num_results=options.num_results,
            segment_rule=options.segment_rule,
            aws_roles=options.aws_roles(),
        ),
    }


def _storage(options: RunOptions):
    if options.storage == "local":
        return LocalObjectStore(root=options.home)
    if not options.s3_bucket:
        raise SettingsError("RECSYS_STORAGE=s3 needs RECSYS_S3_BUCKET")
    s3 = S3Resource(region_name=resolve_region(), max_attempts=DEFAULT_MAX_ATTEMPTS)
    return S3ObjectStore(s3=s3, bucket=options.s3_bucket, prefix=options.s3_prefix)


def _recommender(options: RunOptions, storage):
    if options.recommender == "local":
        return LocalRecommender()
    if options.storage != "s3" or not options.personalize_role_arn:
        raise SettingsError("RECSYS_RECOMMENDER=personalize needs RECSYS_STORAGE=s3 and RECSYS_PERSONALIZE_ROLE_ARN")
    return PersonalizeRecommender(storage=storage, role_arn=options.personalize_role_arn)


def _email_writer(options: RunOptions):
    """The writer in the options' brand; the unsubscribe secret is EnvVar(RECSYS_UNSUBSCRIBE_SECRET) when that is set
    (checked here, as the writer resolves it only in a run), else the demo's."""
    frame = {name: getattr(options.brand, name) for name in BRAND_VARIABLES} | {"email_date": options.email_date}
    secret = os.environ.get(SECRET_VARIABLE)
    if secret is not None:
        problem = brand_problems(replace(options.brand, unsubscribe_secret=secret)).get("unsubscribe_secret")
        if problem:
            raise SettingsError(f"{SECRET_VARIABLE} {problem}")
        frame["unsubscribe_secret"] = EnvVar(SECRET_VARIABLE)
    if options.email == "template":
        return TemplateEmailWriter(**frame)
    model = {"model_id": options.bedrock_model_id} if options.bedrock_model_id else {}
    return BedrockEmailWriter(**frame, **model)
