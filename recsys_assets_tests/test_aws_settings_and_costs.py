"""Role switching by RECSYS_* variables, the AWS usage estimate, and the CloudFormation template."""

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import botocore.session
import pandas as pd
import pytest
import yaml
from botocore import xform_name

from recsys_assets.aws_formats.costs import AwsPrices, AwsUsage, comprehend_units, estimate_cost, estimate_usage
from recsys_assets.environment import RunOptions, SettingsError, build_resources
from recsys_assets.resources.aws_clients import DEFAULT_MAX_ATTEMPTS, aws_client
from recsys_assets.resources.comprehend import ComprehendSentimentAnalyzer
from recsys_assets.resources.dynamodb import DynamoDBProfileStore
from recsys_assets.resources.object_store import LocalObjectStore
from recsys_assets.resources.profile_store import SqliteProfileStore
from recsys_assets.resources.s3 import S3ObjectStore
from recsys_assets.resources.sentiment_analyzer import VaderSentimentAnalyzer

TEMPLATE = Path(__file__).parent.parent / "deployment" / "cloudformation.yaml"
RECSYS_VARIABLES = (
    "RECSYS_ENV",
    "RECSYS_STORAGE",
    "RECSYS_PROFILES",
    "RECSYS_SENTIMENT",
    "RECSYS_RECOMMENDER",
    "RECSYS_EMAIL",
)


@pytest.fixture
def env(monkeypatch):
    for name in RECSYS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return monkeypatch


def implementations(resources: dict) -> dict:
    return {role: type(resources[role]) for role in ("storage", "profiles", "sentiment")}


def test_without_variables_every_role_is_local(env):
    resources = build_resources(RunOptions.from_environment())
    assert implementations(resources) == {
        "storage": LocalObjectStore,
        "profiles": SqliteProfileStore,
        "sentiment": VaderSentimentAnalyzer,
    }


def test_recsys_env_aws_selects_aws_and_a_role_variable_overrides_it(env):
    env.setenv("RECSYS_ENV", "aws")
    env.setenv("RECSYS_SENTIMENT", "vader")
    env.setenv("RECSYS_S3_BUCKET", "b")
    env.setenv("RECSYS_DYNAMODB_TABLE_PREFIX", "prod_")
    options = RunOptions.from_environment()
    assert options.aws_roles() == ["storage", "profiles", "recommender", "email", "sender"]
    resources = build_resources(replace(options, recommender="local", email="template"))
    assert implementations(resources) == {
        "storage": S3ObjectStore,
        "profiles": DynamoDBProfileStore,
        "sentiment": VaderSentimentAnalyzer,
    }
    assert resources["profiles"].table_name("users") == "prod_users"
    assert resources["settings"].input_location == "data/inbox"  # a key in the bucket, not a local path


def test_s3_retries_as_often_as_every_other_client(env):
    s3 = build_resources(RunOptions(storage="s3", s3_bucket="b"))["storage"].client()
    assert s3.meta.config.retries == {"mode": "standard", "total_max_attempts": 1 + DEFAULT_MAX_ATTEMPTS}
    assert aws_client("dynamodb").meta.config.retries["total_max_attempts"] == 1 + DEFAULT_MAX_ATTEMPTS


def test_comprehend_gets_the_async_job_path_only_with_a_role(env):
    options = RunOptions(sentiment="comprehend", s3_bucket="b", comprehend_role_arn="arn:aws:iam::1:role/c")
    analyzer = build_resources(options)["sentiment"]
    assert isinstance(analyzer, ComprehendSentimentAnalyzer)
    assert (analyzer.job_bucket, analyzer.job_prefix) == ("b", "recsys/comprehend")
    assert build_resources(RunOptions(sentiment="comprehend", s3_bucket="b"))["sentiment"].job_bucket == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"storage": "gcs"}, "RECSYS_STORAGE='gcs': expected local or s3"),
        ({"storage": "s3"}, "needs RECSYS_S3_BUCKET"),
        ({"recommender": "personalize"}, "needs RECSYS_STORAGE=s3 and RECSYS_PERSONALIZE_ROLE_ARN"),
    ],
)
def test_invalid_or_incomplete_aws_settings_are_clear_errors(env, options, message):
    with pytest.raises(SettingsError, match=message):
        build_resources(RunOptions(**options))


def test_comprehend_units_are_100_characters_with_a_3_unit_minimum_and_skip_empty_and_repeated_texts():
    texts = pd.Series(["short", "x" * 450, "", None, "y" * 9_000, "short", "x" * 450])
    assert comprehend_units(texts) == 3 + 5 + 50  # the analyzer sends each distinct text once


def test_usage_from_counts_and_its_price():
    usage = estimate_usage(
        comprehend_units=1_000,
        interactions=3_000,
        users=400,
        emails=400,
        products_per_email=5,
        profile_rows=2_600,
        stored_objects=500,
        stored_bytes=2**30,
        personalize_bytes=2**20,
    )
    assert usage == AwsUsage(
        comprehend_units=1_000,
        personalize_training_hours=1.0,
        personalize_batch_records=400,
        personalize_ingested_bytes=2**20,
        bedrock_input_tokens=400 * 675,
        bedrock_output_tokens=400 * 300,
        dynamodb_write_units=2_600,
        s3_put_requests=500,
        s3_bytes=2**30,
    )
    cost = estimate_cost(usage, AwsPrices())
    assert cost["comprehend"] == 0.1 and cost["bedrock"] == round(0.27 + 0.6, 4)
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"), abs=1e-3)


def test_cloudformation_template_passes_cfn_lint():
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def template_statements() -> dict[str, list[dict]]:
    """Each template resource's IAM statements (its PolicyDocument and inline Policies), by logical id."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # intrinsic functions are not needed here
    template = yaml.load(TEMPLATE.read_text(), Loader=Loader)
    statements = {}
    for name, resource in template["Resources"].items():
        properties = resource["Properties"]
        documents = [properties.get("PolicyDocument")] + [p["PolicyDocument"] for p in properties.get("Policies", [])]
        statements[name] = [s for d in documents if d for s in d["Statement"]]
    return statements


def allowed_actions(statements: list[dict]) -> list[str]:
    return [
        a
        for s in statements
        if s["Effect"] == "Allow"
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]


def test_no_allow_statement_grants_a_wildcard_action():
    allowed = [a for statements in template_statements().values() for a in allowed_actions(statements)]
    assert allowed and not [a for a in allowed if "*" in a]


@pytest.mark.parametrize("service", ["personalize", "dynamodb", "comprehend"])
def test_the_pipeline_policy_allows_every_operation_the_code_names(service):
    source = (TEMPLATE.parent.parent / "recsys_assets" / "resources" / f"{service}.py").read_text()
    operations = botocore.session.get_session().get_service_model(service).operation_names
    named = {f"{service}:{op}" for op in operations if re.search(rf"\b{xform_name(op)}\b", source)}
    assert len(named) >= 3, named  # the calls are found
    assert named - set(allowed_actions(template_statements()["PipelinePolicy"])) == set()
