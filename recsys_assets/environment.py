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
from recsys_assets.resources.delivery_ledger import DynamoDBDeliveryLedger, SqliteDeliveryLedger
from recsys_assets.resources.delivery_settings import DeliverySettings
from recsys_assets.resources.dynamodb import DynamoDBProfileStore
from recsys_assets.resources.email_sender import SesEmailSender, SmtpEmailSender
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
    "sender": ("RECSYS_SENDER", "smtp", "ses"),
}
# RunOptions field -> variable, for the AWS settings
AWS_VARIABLES = {
    "s3_bucket": "RECSYS_S3_BUCKET",
    "s3_prefix": "RECSYS_S3_PREFIX",
    "dynamodb_table_prefix": "RECSYS_DYNAMODB_TABLE_PREFIX",
    "personalize_role_arn": "RECSYS_PERSONALIZE_ROLE_ARN",
    "comprehend_role_arn": "RECSYS_COMPREHEND_ROLE_ARN",
    "bedrock_model_id": "RECSYS_BEDROCK_MODEL_ID",
    "ses_configuration_set": "RECSYS_SES_CONFIGURATION_SET",
    "notification_queue_url": "RECSYS_SES_NOTIFICATION_QUEUE_URL",
}
# RunOptions field -> variable, for sending (docs/sending.md); the SMTP password is read by the sender (EnvVar)
SMTP_VARIABLES = {
    "smtp_host": "RECSYS_SMTP_HOST",
    "smtp_security": "RECSYS_SMTP_SECURITY",
    "smtp_username": "RECSYS_SMTP_USERNAME",
}
SMTP_PASSWORD_VARIABLE = "RECSYS_SMTP_PASSWORD"  # nosec B105: the variable's name, not its value
SMTP_SECURITIES = ("none", "starttls", "tls")
# Brand field -> variable; the secret is read by the email writer itself (EnvVar), so it never sits in the options
BRAND_VARIABLES = {
    "shop_name": "RECSYS_SHOP_NAME",
    "sender": "RECSYS_FROM",
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
    sender: str = "smtp"
    # AWS settings (see AWS_VARIABLES); empty bedrock_model_id means the writer's default model
    s3_bucket: str = ""
    s3_prefix: str = "recsys"
    dynamodb_table_prefix: str = "recsys_"
    personalize_role_arn: str = ""
    comprehend_role_arn: str = ""
    bedrock_model_id: str = ""
    ses_configuration_set: str = ""
    notification_queue_url: str = ""
    # the SMTP server (RECSYS_SMTP_*) and the campaign's delivery rules (docs/sending.md)
    smtp_host: str = "localhost"
    smtp_port: int = 0  # 0: the security's port (25, 587 or 465)
    smtp_security: str = "starttls"
    smtp_username: str = ""
    campaign: str = ""
    holdout_share: float = 0.10
    frequency_cap_days: float = 6.0
    max_send_rate: float | None = None
    daily_cap: int | None = None
    # the emails' frame (see BRAND_VARIABLES; its secret stays the demo's here) and their pinned Date, if any
    brand: Brand = DEFAULT_BRAND
    email_date: str = ""
    # None: never recommend what a customer bought; N: again after N days (resources.interaction_rules)
    buy_again_after_days: int | None = None

    def __post_init__(self) -> None:
        for role, (variable, local, aws) in ROLES.items():
            if getattr(self, role) not in (local, aws):
                moved = " (the brand's From address is RECSYS_FROM now)" if "@" in getattr(self, role) else ""
                raise SettingsError(f"{variable}={getattr(self, role)!r}: expected {local} or {aws}{moved}")
        if self.input_format not in (AUTO, *FORMATS):
            raise SettingsError(
                f"input_format (RECSYS_INPUT_FORMAT, --format) is {self.input_format!r}: expected "
                f"{', '.join((AUTO, *FORMATS))}"
            )
        self._check_sending()
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

    def _check_sending(self) -> None:
        if self.smtp_security not in SMTP_SECURITIES:
            raise SettingsError(
                f"RECSYS_SMTP_SECURITY={self.smtp_security!r}: expected one of {', '.join(SMTP_SECURITIES)}"
            )
        if not 0 <= self.smtp_port < 65536:
            raise SettingsError(f"RECSYS_SMTP_PORT={self.smtp_port}: expected a port, 1 to 65535 (0: the usual one)")
        if not 0 <= self.holdout_share < 1:
            raise SettingsError(f"RECSYS_HOLDOUT_SHARE={self.holdout_share}: expected a share from 0 to below 1")
        if self.frequency_cap_days < 0:
            raise SettingsError(f"RECSYS_FREQUENCY_CAP_DAYS={self.frequency_cap_days}: expected 0 or more days")
        if self.max_send_rate is not None and self.max_send_rate <= 0:
            raise SettingsError(f"RECSYS_MAX_SEND_RATE={self.max_send_rate}: expected messages a second, above 0")
        if self.daily_cap is not None and self.daily_cap < 0:
            raise SettingsError(f"RECSYS_DAILY_CAP={self.daily_cap}: expected 0 or more messages")

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
            **{
                name: env.get(variable, defaults[name]).lower()
                if name == "smtp_security"
                else env.get(variable, defaults[name])
                for name, variable in SMTP_VARIABLES.items()
            },
            smtp_port=_whole_number(env, "RECSYS_SMTP_PORT", defaults["smtp_port"]),
            campaign=env.get("RECSYS_CAMPAIGN", ""),
            holdout_share=_number(env, "RECSYS_HOLDOUT_SHARE", defaults["holdout_share"]),
            frequency_cap_days=_number(env, "RECSYS_FREQUENCY_CAP_DAYS", defaults["frequency_cap_days"]),
            max_send_rate=_number(env, "RECSYS_MAX_SEND_RATE", None),
            daily_cap=_whole_number(env, "RECSYS_DAILY_CAP", None),
        )

    def aws_roles(self) -> list[str]:
        """The roles played by AWS services in this run."""
        return [role for role, (_, _, aws) in ROLES.items() if getattr(self, role) == aws]


def _whole_number(env: Mapping[str, str], variable: str, default: int | None) -> int | None:
    """The variable's value as an integer (default when unset or empty); anything else is a SettingsError naming it."""
    text = env.get(variable, "")
    if not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{variable}={text!r}: expected a whole number") from None


def _number(env: Mapping[str, str], variable: str, default: float | None) -> float | None:
    """The variable's value as a number (default when unset or empty); anything else is a SettingsError naming it."""
    text = env.get(variable, "")
    if not text.strip():
        return default
    try:
        return float(text)
    except ValueError:
        raise SettingsError(f"{variable}={text!r}: expected a number") from None


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
        "email_sender": _email_sender(options),
        "delivery_ledger": (
            DynamoDBDeliveryLedger(table_prefix=options.dynamodb_table_prefix)
            if options.profiles == "dynamodb"
            else SqliteDeliveryLedger(path=os.path.join(options.home, "deliveries.sqlite"))
        ),
        "delivery": DeliverySettings(
            campaign=options.campaign,
            holdout_share=options.holdout_share,
            frequency_cap_days=options.frequency_cap_days,
            max_send_rate=options.max_send_rate,
            daily_cap=options.daily_cap,
            notification_queue_url=options.notification_queue_url,
        ),
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


def _email_sender(options: RunOptions):
    """SMTP (the password EnvVar(RECSYS_SMTP_PASSWORD) when that is set) or Amazon SES, as RECSYS_SENDER says."""
    if options.sender == "ses":
        return SesEmailSender(configuration_set=options.ses_configuration_set)
    password = {"password": EnvVar(SMTP_PASSWORD_VARIABLE)} if SMTP_PASSWORD_VARIABLE in os.environ else {}
    return SmtpEmailSender(
        host=options.smtp_host,
        port=options.smtp_port,
        security=options.smtp_security,
        username=options.smtp_username,
        **password,
    )


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
