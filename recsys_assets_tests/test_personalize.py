"""Personalize's pure part: schemas, minimums, batch files, metric names, job reuse, cleanup order."""

import json
import math
from dataclasses import replace

import pytest

from recsys_assets.aws_formats import personalize_api as personalize
from recsys_assets.aws_formats.personalize_api import Deletion, PersonalizeDataError, PersonalizeSolutionVersion
from recsys_assets.ml.metrics import METRIC_NAMES
from recsys_assets.ml.serving import RECOMMENDATION_COLUMNS

from .conftest import interactions


def test_schemas_list_the_import_file_columns_with_their_roles():
    header = ["ITEM_ID", "CATEGORY_L1", "CATEGORY_L2", "BRAND", "PRICE", "DESCRIPTION"]
    items = json.loads(personalize.avro_schema("items", header))["fields"]
    assert [f["name"] for f in items] == header
    assert all(f["categorical"] for f in items[1:4]) and items[4]["type"] == ["null", "float"] and items[5]["textual"]
    events = json.loads(personalize.avro_schema("interactions"))["fields"]
    assert [(f["name"], f["type"]) for f in events] == [
        ("USER_ID", "string"),
        ("ITEM_ID", "string"),
        ("TIMESTAMP", "long"),
        ("EVENT_TYPE", "string"),
        ("EVENT_VALUE", "float"),
    ]
    users = json.loads(personalize.avro_schema("users", ["USER_ID", "AGE", "COUNTRY"]))["fields"]
    assert [f["name"] for f in users] == ["USER_ID", "AGE", "COUNTRY"] and users[2]["categorical"]


def test_users_are_imported_only_with_a_metadata_column():
    assert personalize.importable_datasets(["USER_ID"]) == ["interactions", "items"]
    assert personalize.importable_datasets(["USER_ID", "AGE"]) == ["interactions", "items", "users"]


def test_minimums_count_only_the_interactions_that_train():
    personalize.check_minimums(interactions(users=25, per_user=40))
    below = interactions(users=25, per_user=40).assign(EVENT_VALUE=[0.0] * 500 + [0.8] * 500)
    with pytest.raises(PersonalizeDataError, match=r"500 interactions \(needs 1,000\) and 13 users with 2\+"):
        personalize.check_minimums(below, event_value_threshold=0.0001)


def test_batch_output_is_joined_on_user_id_and_errors_become_failures():
    output = "\n".join(
        json.dumps(line)
        for line in [
            {
                "input": {"userId": "u2"},
                "output": {"recommendedItems": ["p3", "p1", "p4"], "scores": [0.5, 0.3, 0.1]},
                "error": None,
            },
            {"input": {"userId": "u1"}, "output": {"recommendedItems": ["p2"], "scores": [0.9]}, "error": None},
            {"input": {"userId": "u3"}, "output": None, "error": "user not found"},
            {"input": {"userId": "stranger"}, "output": {"recommendedItems": ["p9"], "scores": [0.2]}, "error": None},
        ]
    )
    result = personalize.parse_batch_output(output, ["u1", "u2", "u3", "u4"], num_results=2)
    assert list(result.recommendations.columns) == list(RECOMMENDATION_COLUMNS)
    assert result.recommendations[["USER_ID", "RANK", "ITEM_ID", "SCORE", "SOURCE"]].values.tolist() == [
        ["u1", 1, "p2", 0.9, "personalize"],
        ["u2", 1, "p3", 0.5, "personalize"],
        ["u2", 2, "p1", 0.3, "personalize"],
    ]
    assert result.recommendations["REASON_ITEM_ID"].isna().all()
    assert result.failures.values.tolist() == [["u3", "user not found"], ["u4", "no line in the batch output"]]


def test_batch_input_has_one_line_per_distinct_user():
    assert personalize.batch_input(["u1", "u2", "u1"]) == b'{"userId": "u1"}\n{"userId": "u2"}\n'


def test_solution_metrics_keep_the_local_names_and_mark_missing_ones():
    metrics = personalize.solution_metrics({"coverage": 0.3, "precision_at_5": 0.1, "average_rewards_at_k": 1.0})
    assert list(metrics) == list(METRIC_NAMES)
    assert metrics["coverage"] == 0.3 and math.isnan(metrics["normalized_discounted_cumulative_gain_at_10"])


def test_a_failed_job_is_retried_under_a_new_name_and_a_running_one_reused():
    failed = {"jobName": "recsys-items-abc", "status": "CREATE FAILED", "arn": "a0"}
    running = {"jobName": "recsys-items-abc-1", "status": "CREATE IN_PROGRESS", "arn": "a1"}
    other = {"jobName": "recsys-items-xyz", "status": "ACTIVE", "arn": "a2"}
    assert personalize.reusable_job([failed, other], "recsys-items-abc", "arn") == (None, "recsys-items-abc-1")
    assert personalize.reusable_job([failed, running], "recsys-items-abc", "arn") == ("a1", "recsys-items-abc-2")
    assert personalize.reusable_job([], "recsys-items-abc", "arn") == (None, "recsys-items-abc")


def test_cleanup_deletes_dependents_first_each_resource_once():
    plan = personalize.deletion_plan(
        {"dataset_group": ["g"], "schema": ["s2", "s1"], "filter": ["f", "f"], "campaign": ["c"]}
    )
    assert plan == [
        Deletion("campaign", "c"),
        Deletion("filter", "f"),
        Deletion("schema", "s1"),
        Deletion("schema", "s2"),
        Deletion("dataset_group", "g"),
    ]
    with pytest.raises(ValueError, match="recommender"):
        personalize.deletion_plan({"recommender": ["r"]})


def test_names_are_checked_against_personalize_rules():
    assert personalize.resource_name("recsys", "items") == "recsys-items"
    with pytest.raises(ValueError):
        personalize.resource_name("recsys", "bad name")


def test_a_solution_version_round_trips_through_json_metrics_personalize_did_not_return_included():
    version = PersonalizeSolutionVersion(
        "g", "v", "f", "r", 1.5, 30, 40, personalize.solution_metrics({"coverage": 0.2})
    )
    assert '"precision_at_5": null' in version.to_json().decode()
    again = PersonalizeSolutionVersion.from_json(version.to_json())
    assert again.metrics["coverage"] == 0.2 and math.isnan(again.metrics["precision_at_5"])
    assert replace(again, metrics={}) == replace(version, metrics={})


@pytest.mark.parametrize(
    "status, state",
    [
        ("ACTIVE", "done"),
        ("CREATE PENDING", "pending"),
        ("CREATE IN_PROGRESS", "pending"),
        ("CREATE FAILED", "failed"),
        ("CREATE STOPPING", "failed"),
        ("CREATE STOPPED", "failed"),
    ],
)
def test_stopped_training_counts_as_failed(status, state):
    assert personalize.creation_state(status) == state
