"""PersonalizeRecommender against a stubbed Personalize client (requests validated) and S3 on moto."""

import json

import boto3
import pandas as pd
import pytest
from botocore.stub import ANY, Stubber
from dagster_aws.s3 import S3Resource

from recsys_assets.aws_formats.personalize_api import (
    EXCLUDE_REVIEWED,
    RECIPE_USER_PERSONALIZATION_V2,
    PersonalizeDataError,
    PersonalizeFailure,
    PersonalizeSolutionVersion,
)
from recsys_assets.aws_formats.personalize_datasets import dataset_key
from recsys_assets.ml.serving import RECOMMENDATION_COLUMNS
from recsys_assets.resources.personalize import PersonalizeRecommender
from recsys_assets.resources.s3 import S3ObjectStore

from .conftest import interactions

BUCKET = "recsys-personalize"
ROLE = "arn:aws:iam::123456789012:role/personalize"
ARN = "arn:aws:personalize:us-east-1:123456789012:"
GROUP = f"{ARN}dataset-group/recsys"
METRICS = {"coverage": 0.4, "mean_reciprocal_rank_at_25": 0.2, "normalized_discounted_cumulative_gain_at_10": 0.25}


ITEMS = pd.DataFrame({"ITEM_ID": [f"p{i:02d}" for i in range(60)], "CATEGORY": "Home"})


class StubbedPersonalize:
    """A stubbed Personalize client and the recommender using it, with the import files in moto's S3."""

    def __init__(self):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        self.storage = S3ObjectStore(s3=S3Resource(), bucket=BUCKET, prefix="run")
        for dataset, header in {
            "interactions": "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE",
            "items": "ITEM_ID,CATEGORY_L1,CATEGORY_L2,BRAND,PRICE,DESCRIPTION",
            "users": "USER_ID",
        }.items():
            self.storage.write_bytes(dataset_key(dataset), f"{header}\n".encode())
        self.client = boto3.client("personalize", region_name="us-east-1")
        self.stubber = Stubber(self.client)
        self.recommender = PersonalizeRecommender(storage=self.storage, role_arn=ROLE, poll_seconds=0.0)
        self.recommender._clients["personalize"] = self.client

    def add(self, method: str, response: dict, **expected) -> None:
        self.stubber.add_response(method, response, expected or None)

    def dataset_group(self, existing: bool = False) -> None:
        summary = {"name": "recsys", "datasetGroupArn": GROUP, "status": "ACTIVE"}
        self.add("list_dataset_groups", {"datasetGroups": [summary] if existing else []})
        if not existing:
            self.add("create_dataset_group", {"datasetGroupArn": GROUP}, name="recsys")
        self.add("describe_dataset_group", {"datasetGroup": {"status": "ACTIVE"}}, datasetGroupArn=GROUP)

    def datasets_and_imports(self, import_status: str = "ACTIVE", reason: str = "") -> None:
        for dataset in ("interactions", "items"):
            self.add("list_schemas", {"schemas": []})
            self.add(
                "create_schema", {"schemaArn": f"{ARN}schema/recsys-{dataset}"}, name=f"recsys-{dataset}", schema=ANY
            )
            self.add("list_datasets", {"datasets": []}, datasetGroupArn=GROUP)
            self.add(
                "create_dataset",
                {"datasetArn": f"{ARN}dataset/{dataset}"},
                name=f"recsys-{dataset}",
                schemaArn=ANY,
                datasetGroupArn=GROUP,
                datasetType=ANY,
            )
            self.add("describe_dataset", {"dataset": {"status": "ACTIVE"}}, datasetArn=f"{ARN}dataset/{dataset}")
            self.add("list_dataset_import_jobs", {"datasetImportJobs": []}, datasetArn=f"{ARN}dataset/{dataset}")
            self.add(
                "create_dataset_import_job",
                {"datasetImportJobArn": f"{ARN}import/{dataset}"},
                jobName=ANY,
                datasetArn=ANY,
                roleArn=ROLE,
                importMode="FULL",
                dataSource={"dataLocation": f"s3://{BUCKET}/run/personalize/{dataset}.csv"},
            )
        self.add(
            "describe_dataset_import_job",
            {"datasetImportJob": {"status": import_status, "failureReason": reason}},
            datasetImportJobArn=f"{ARN}import/interactions",
        )

    def training(
        self, existing_versions: list[dict] = (), solution_descriptions: list[dict] | None = None, update: str = ""
    ) -> None:
        """Stubs for training. `solution_descriptions`: the solution exists and describe_solution returns these
        in turn; `update`: the statuses update_solution's update goes through ("": no update expected)."""
        self.add(
            "describe_dataset_import_job",
            {"datasetImportJob": {"status": "ACTIVE"}},
            datasetImportJobArn=f"{ARN}import/items",
        )
        self.add("list_filters", {"Filters": []}, datasetGroupArn=GROUP)
        self.add(
            "create_filter",
            {"filterArn": f"{ARN}filter/f"},
            name="recsys-exclude-reviewed",
            datasetGroupArn=GROUP,
            filterExpression=EXCLUDE_REVIEWED,
        )
        self.add("describe_filter", {"filter": {"status": "ACTIVE"}}, filterArn=f"{ARN}filter/f")
        solution = {"name": "recsys-solution", "solutionArn": f"{ARN}solution/s", "status": "ACTIVE"}
        self.add("list_solutions", {"solutions": [solution] if solution_descriptions else []}, datasetGroupArn=GROUP)
        if not solution_descriptions:
            self.add(
                "create_solution",
                {"solutionArn": f"{ARN}solution/s"},
                name="recsys-solution",
                datasetGroupArn=GROUP,
                recipeArn=RECIPE_USER_PERSONALIZATION_V2,
                solutionConfig={"eventValueThreshold": "0.0001"},
                performAutoTraining=False,
            )
        for described in solution_descriptions or [{"status": "ACTIVE", "performAutoTraining": False}]:
            self.add("describe_solution", {"solution": described}, solutionArn=f"{ARN}solution/s")
        if update:
            self.add(
                "update_solution",
                {"solutionArn": f"{ARN}solution/s"},
                solutionArn=f"{ARN}solution/s",
                performAutoTraining=False,
            )
            for status in update.split(","):
                updated = {
                    "status": "ACTIVE",
                    "latestSolutionUpdate": {"status": status, "performAutoTraining": False, "failureReason": "quota"},
                }
                self.add("describe_solution", {"solution": updated}, solutionArn=f"{ARN}solution/s")
        self.add(
            "list_solution_versions", {"solutionVersions": list(existing_versions)}, solutionArn=f"{ARN}solution/s"
        )
        self.add(
            "create_solution_version",
            {"solutionVersionArn": f"{ARN}solution/s/v1"},
            name=ANY,
            solutionArn=f"{ARN}solution/s",
            trainingMode="FULL",
        )
        self.add(
            "describe_solution_version",
            {"solutionVersion": {"status": "CREATE IN_PROGRESS"}},
            solutionVersionArn=f"{ARN}solution/s/v1",
        )
        self.add(
            "describe_solution_version",
            {"solutionVersion": {"status": "ACTIVE", "trainingHours": 1.25}},
            solutionVersionArn=f"{ARN}solution/s/v1",
        )
        self.add("get_solution_metrics", {"metrics": METRICS}, solutionVersionArn=f"{ARN}solution/s/v1")

    def batch_job(self) -> None:
        """Stubs for one batch inference job; on creation, writes the output the way Personalize would (shuffled)."""
        self.add("list_batch_inference_jobs", {"batchInferenceJobs": []}, solutionVersionArn=f"{ARN}solution/s/v1")
        self.add(
            "create_batch_inference_job",
            {"batchInferenceJobArn": f"{ARN}batch/b"},
            jobName=ANY,
            solutionVersionArn=f"{ARN}solution/s/v1",
            filterArn=f"{ARN}filter/f",
            numResults=2,
            jobInput=ANY,
            jobOutput=ANY,
            roleArn=ROLE,
        )
        self.add(
            "describe_batch_inference_job",
            {"batchInferenceJob": {"status": "ACTIVE"}},
            batchInferenceJobArn=f"{ARN}batch/b",
        )

        def run_job(params, **_):
            users = [
                json.loads(line)["userId"]
                for line in self.storage.read_bytes(params["jobInput"]["s3DataSource"]["path"]).decode().splitlines()
            ]
            lines = [
                {
                    "input": {"userId": u},
                    "output": {"recommendedItems": [f"p{i}0", f"p{i}1", "pX"], "scores": [0.6, 0.3, 0.1]},
                    "error": None,
                }
                for i, u in enumerate(users)
            ]
            output = "\n".join(json.dumps(line) for line in reversed(lines)) + "\n"
            self.storage.write_bytes(
                params["jobOutput"]["s3DataDestination"]["path"] + "input.json.out", output.encode()
            )

        self.client.meta.events.register("before-parameter-build.personalize.CreateBatchInferenceJob", run_job)


@pytest.fixture
def personalize(aws):  # noqa: F811
    stub = StubbedPersonalize()
    with stub.stubber:
        yield stub
    stub.stubber.assert_no_pending_responses()


def test_train_evaluate_and_recommend_through_the_whole_lifecycle(personalize):
    personalize.dataset_group()
    personalize.datasets_and_imports()
    personalize.training()
    personalize.batch_job()
    recommender = personalize.recommender
    metrics = recommender.offline_metrics(interactions(), ITEMS)
    model = recommender.train(interactions(), ITEMS)
    assert (model.solution_version_arn, model.filter_arn, model.training_hours) == (
        f"{ARN}solution/s/v1",
        f"{ARN}filter/f",
        1.25,
    )
    assert metrics["model"]["coverage"] == 0.4 and set(metrics["popularity-count"]) == set(metrics["model"])
    recommendations = recommender.recommend(model, interactions(), pd.Series(["u01", "u00", "u01"]), num_results=2)
    assert recommendations[["USER_ID", "RANK", "ITEM_ID", "SOURCE"]].values.tolist() == [
        ["u00", 1, "p10", "personalize"],
        ["u00", 2, "p11", "personalize"],
        ["u01", 1, "p00", "personalize"],
        ["u01", 2, "p01", "personalize"],
    ]


RETRAINING = {"status": "ACTIVE", "performAutoTraining": True}


@pytest.mark.parametrize(
    "descriptions, update",
    [
        ([RETRAINING], "CREATE IN_PROGRESS,ACTIVE"),  # made with automatic training on: switched off, waited for
        ([RETRAINING], "CREATE FAILED"),  # the update fails: logged, and training goes on
        # an update another run started is waited for, and not asked again once it has switched training off
        (
            [
                {**RETRAINING, "latestSolutionUpdate": {"status": "CREATE IN_PROGRESS", "performAutoTraining": False}},
                {**RETRAINING, "latestSolutionUpdate": {"status": "ACTIVE", "performAutoTraining": False}},
            ],
            "",
        ),
    ],
)
def test_a_solution_that_trains_itself_weekly_has_it_switched_off_before_training(personalize, descriptions, update):
    personalize.dataset_group(existing=True)
    personalize.datasets_and_imports()
    personalize.training(solution_descriptions=descriptions, update=update)
    assert personalize.recommender.train(interactions(), ITEMS).solution_version_arn == f"{ARN}solution/s/v1"


def test_a_stopped_solution_version_is_not_waited_on_or_reused_but_trained_again(personalize):
    personalize.dataset_group(existing=True)
    personalize.datasets_and_imports()
    personalize.training(existing_versions=[{"solutionVersionArn": f"{ARN}solution/s/v0", "status": "CREATE STOPPED"}])
    assert personalize.recommender.train(interactions(), ITEMS).solution_version_arn == f"{ARN}solution/s/v1"


def test_an_emptied_segment_asks_personalize_for_nothing(personalize):
    model = PersonalizeSolutionVersion(
        GROUP, f"{ARN}solution/s/v1", f"{ARN}filter/f", RECIPE_USER_PERSONALIZATION_V2, 1.0, 30, 60
    )
    recommendations = personalize.recommender.recommend(
        model, interactions(), pd.Series([], dtype="str"), num_results=2
    )
    assert recommendations.empty and list(recommendations.columns) == list(RECOMMENDATION_COLUMNS)
    assert personalize.storage.list_keys("personalize/batch/") == []  # no input file written either


def test_a_failed_import_job_stops_training_with_its_reason(personalize):
    personalize.dataset_group()
    personalize.datasets_and_imports(import_status="CREATE FAILED", reason="Access Denied to s3://recsys-personalize")
    with pytest.raises(
        PersonalizeFailure,
        match=r"import/interactions failed \(CREATE FAILED\): Access Denied to s3://recsys-personalize",
    ):
        personalize.recommender.train(interactions(), ITEMS)


def test_an_existing_dataset_group_is_reused(personalize):
    personalize.dataset_group(existing=True)
    personalize.datasets_and_imports()
    personalize.training()
    assert personalize.recommender.train(interactions(), ITEMS).dataset_group_arn == GROUP


def test_data_below_the_minimums_fails_before_any_call(personalize):
    with pytest.raises(PersonalizeDataError, match=r"400 interactions \(needs 1,000\)"):
        personalize.recommender.train(interactions(users=20, per_user=20), ITEMS)


def test_cleanup_deletes_in_order_and_tolerates_what_is_already_gone(personalize):
    add = personalize.add
    add("list_dataset_groups", {"datasetGroups": [{"name": "recsys", "datasetGroupArn": GROUP}]})
    add("list_solutions", {"solutions": [{"solutionArn": f"{ARN}solution/s"}]}, datasetGroupArn=GROUP)
    add("list_campaigns", {"campaigns": []}, solutionArn=f"{ARN}solution/s")
    add("list_filters", {"Filters": [{"filterArn": f"{ARN}filter/f"}]}, datasetGroupArn=GROUP)
    add("list_event_trackers", {"eventTrackers": []}, datasetGroupArn=GROUP)
    add("list_datasets", {"datasets": [{"datasetArn": f"{ARN}dataset/items"}]}, datasetGroupArn=GROUP)
    add(
        "list_schemas",
        {
            "schemas": [
                {"name": "recsys-items", "schemaArn": f"{ARN}schema/recsys-items"},
                {"name": "theirs", "schemaArn": f"{ARN}schema/theirs"},
            ]
        },
    )
    gone = {"service_error_code": "ResourceNotFoundException", "http_status_code": 404}
    add("delete_filter", {}, filterArn=f"{ARN}filter/f")
    personalize.stubber.add_client_error("describe_filter", **gone)
    personalize.stubber.add_client_error("delete_solution", **gone)
    personalize.stubber.add_client_error("describe_solution", **gone)
    add("delete_dataset", {}, datasetArn=f"{ARN}dataset/items")
    add("describe_dataset", {"dataset": {"status": "DELETE PENDING"}}, datasetArn=f"{ARN}dataset/items")
    personalize.stubber.add_client_error("describe_dataset", **gone)
    add("delete_schema", {}, schemaArn=f"{ARN}schema/recsys-items")
    personalize.stubber.add_client_error("describe_schema", **gone)
    add("delete_dataset_group", {}, datasetGroupArn=GROUP)
    personalize.stubber.add_client_error("describe_dataset_group", **gone)
    plan = personalize.recommender.cleanup()
    assert [step.kind for step in plan] == ["filter", "solution", "dataset", "schema", "dataset_group"]


def test_cleanup_job_deletes_the_pipelines_s3_objects_and_tables_and_keeps_the_inputs(personalize):
    import pandas as pd

    from recsys_assets.defs.jobs import cleanup_aws
    from recsys_assets.resources.dynamodb import DynamoDBProfileStore
    from recsys_assets.resources.recommender import LocalRecommender

    personalize.storage.write_bytes("inbox/catalog.csv", b"product_id\n")
    personalize.storage.write_bytes("recommendations/general.csv", b"USER_ID\n")
    profiles = DynamoDBProfileStore(table_prefix="cleanup_", region="us-east-1")
    profiles.replace_table("users", pd.DataFrame({"user_id": ["U1"], "user_name": ["Asha"]}))
    resources = {"recommender": LocalRecommender(), "storage": personalize.storage, "profiles": profiles}
    result = cleanup_aws.execute_in_process(resources=resources)
    assert result.success
    assert personalize.storage.list_keys("") == ["inbox/catalog.csv"]
    assert "cleanup_users" not in profiles.client().list_tables()["TableNames"]
