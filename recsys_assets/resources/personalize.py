"""Amazon Personalize as the recommender: import, train, evaluate, batch-recommend and clean up.

Every resource is found by name before it is created, so a re-run reuses what exists; the import
jobs and the solution version are named after a fingerprint of the data, so unchanged data is
neither imported nor trained twice. Waits poll `describe_*` every `poll_seconds` up to
`timeout_seconds`.
"""

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError
from dagster import ResourceDependency, get_dagster_logger
from pydantic import Field, PrivateAttr

from recsys_assets.aws_formats import personalize_api
from recsys_assets.aws_formats.personalize_api import (
    DATASET_TYPES,
    Deletion,
    PersonalizeFailure,
    PersonalizeSolutionVersion,
    creation_state,
    deletion_plan,
    resource_name,
)
from recsys_assets.aws_formats.personalize_datasets import PERSONALIZE_PREFIX, dataset_key
from recsys_assets.ml import evaluation
from recsys_assets.ml.popularity import TrainedPopularity
from recsys_assets.resources.aws_clients import aws_client
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.recommender import Recommender

BATCH_PREFIX = f"{PERSONALIZE_PREFIX}batch/"
# kind -> (delete call, describe call, ARN parameter), for the cleanup
_DELETE_CALLS = {
    "campaign": ("delete_campaign", "describe_campaign", "campaignArn"),
    "event_tracker": ("delete_event_tracker", "describe_event_tracker", "eventTrackerArn"),
    "filter": ("delete_filter", "describe_filter", "filterArn"),
    "solution": ("delete_solution", "describe_solution", "solutionArn"),
    "dataset": ("delete_dataset", "describe_dataset", "datasetArn"),
    "schema": ("delete_schema", "describe_schema", "schemaArn"),
    "dataset_group": ("delete_dataset_group", "describe_dataset_group", "datasetGroupArn"),
}


def _automatic_training(solution: dict) -> bool:
    """Whether a solution trains itself weekly: its latest successful update's setting, else its own."""
    update = solution.get("latestSolutionUpdate") or {}
    if creation_state(update.get("status", "")) == "done" and "performAutoTraining" in update:
        return bool(update["performAutoTraining"])
    return bool(solution.get("performAutoTraining", False))


def _latest_update_status(solution: dict) -> dict:
    """A solution's latest update (its status and failureReason); a solution never updated counts as ACTIVE."""
    return solution.get("latestSolutionUpdate") or {"status": "ACTIVE"}


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


class PersonalizeRecommender(Recommender):
    """Amazon Personalize: datasets imported from the import files in the (S3) object store, one
    solution version per distinct data, recommendations by batch inference with a filter that
    excludes reviewed items.

    Offline metrics: "model" is Personalize's `get_solution_metrics`; "popularity-count" comes
    from a Popularity-Count solution version when `baseline_recipe_arn` is set, else from
    `recsys_assets.ml.evaluation` run locally on the same interactions (its own user split).
    """

    storage: ResourceDependency[ObjectStore]
    name: str = Field(default="recsys", description="Dataset group name; prefix of every resource's name.")
    role_arn: str = Field(description="IAM role Personalize assumes to read and write the bucket.")
    recipe_arn: str = Field(default=personalize_api.RECIPE_USER_PERSONALIZATION_V2)
    baseline_recipe_arn: str = Field(
        default="", description="e.g. the Popularity-Count recipe; empty computes the baseline locally."
    )
    event_value_threshold: float = Field(
        default=0.0001,
        ge=0,
        description="Interactions with a lower EVENT_VALUE do not train (as locally: positive only).",
    )
    region: str = Field(default="", description="AWS region; empty uses AWS_REGION / the AWS config.")
    poll_seconds: float = Field(default=30.0, ge=0, description="Seconds between status checks.")
    timeout_seconds: float = Field(default=6 * 3600.0, gt=0, description="Longest wait for one resource.")
    evaluation_seed: int = Field(default=0, description="Seed of the local baseline's held-out user split.")
    _clients: dict[str, Any] = PrivateAttr(default_factory=dict)
    _trained: dict[str, PersonalizeSolutionVersion] = PrivateAttr(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client per service, built once."""
        if service not in self._clients:
            self._clients[service] = aws_client(service, self.region or None)
        return self._clients[service]

    # --- the Recommender interface -------------------------------------------------------------

    def train(self, interactions: pd.DataFrame, items: pd.DataFrame) -> PersonalizeSolutionVersion:
        """The solution version for this data, trained once (offline_metrics may have trained it already)."""
        fingerprint = personalize_api.data_fingerprint(interactions, items)
        if fingerprint not in self._trained:
            self._trained[fingerprint] = self._train(interactions, items, fingerprint)
        return self._trained[fingerprint]

    def offline_metrics(self, interactions: pd.DataFrame, items: pd.DataFrame) -> dict[str, dict[str, float]]:
        model = self.train(interactions, items)
        if self.baseline_recipe_arn:
            fingerprint = personalize_api.data_fingerprint(interactions, items)
            baseline_arn, _ = self._solution_version(
                model.dataset_group_arn, "baseline", self.baseline_recipe_arn, fingerprint
            )
            baseline = self._metrics(baseline_arn)
        else:
            # the recipe's local twin, served on the same split (no other model is trained for it)
            split_metrics = evaluation.evaluate(
                interactions, items, seed=self.evaluation_seed, train=TrainedPopularity.train
            )
            baseline = split_metrics["model"]
        return {"model": model.metrics, "popularity-count": baseline}

    def model_settings(self, model: PersonalizeSolutionVersion) -> dict:
        """The recipe and solution version Personalize trained, and its training hours."""
        return {
            "recipe_arn": model.recipe_arn,
            "solution_version_arn": model.solution_version_arn,
            "training_hours": model.training_hours,
        }

    def recommend(
        self,
        model: PersonalizeSolutionVersion,
        interactions: pd.DataFrame,
        user_ids: pd.Series,
        num_results: int,
        buy_again_after_days: int | None = None,
    ) -> pd.DataFrame:
        """Batch inference for `user_ids`; reviewed items are excluded by the filter, not by `interactions` (so
        buying again is the local recommender's only)."""
        if buy_again_after_days is not None:
            raise ValueError(
                "buy_again_after_days needs the local recommender: Personalize's filter excludes every item"
            )
        users = pd.Series(pd.unique(pd.Series(user_ids, dtype="str")), dtype="str")
        if users.empty:  # an emptied segment: nothing to ask Personalize
            return personalize_api.parse_batch_output("", users, num_results).recommendations
        fingerprint = personalize_api.data_fingerprint(
            pd.DataFrame({"users": users}),
            pd.DataFrame({"run": [model.solution_version_arn, model.filter_arn, str(num_results)]}),
        )
        job_name = resource_name(self.name, "batch", fingerprint)
        input_key, output_prefix = f"{BATCH_PREFIX}{job_name}/input.json", f"{BATCH_PREFIX}{job_name}/output/"
        jobs = self._list(
            "list_batch_inference_jobs", "batchInferenceJobs", solutionVersionArn=model.solution_version_arn
        )
        job_arn, new_name = personalize_api.reusable_job(jobs, job_name, "batchInferenceJobArn")
        if job_arn is None:
            self.storage.write_bytes(input_key, personalize_api.batch_input(users))
            job_arn = self.client("personalize").create_batch_inference_job(
                jobName=new_name,
                solutionVersionArn=model.solution_version_arn,
                filterArn=model.filter_arn,
                numResults=num_results,
                jobInput={"s3DataSource": {"path": self._s3_location(input_key)}},
                jobOutput={"s3DataDestination": {"path": self._s3_location(output_prefix)}},
                roleArn=self.role_arn,
            )["batchInferenceJobArn"]
        self._wait("describe_batch_inference_job", "batchInferenceJobArn", job_arn, "batchInferenceJob")
        text = "".join(
            self.storage.read_bytes(key).decode()
            for key in self.storage.list_keys(output_prefix)
            if key.endswith(".out")
        )
        output = personalize_api.parse_batch_output(text, users, num_results)
        if len(output.failures):
            first = output.failures.iloc[0]
            get_dagster_logger().warning(
                f"Personalize returned no recommendations for {len(output.failures):,} users, "
                f"e.g. {first['USER_ID']}: {first['error']}"
            )
        return output.recommendations

    # --- cleanup --------------------------------------------------------------------------------

    def cleanup(self) -> list[Deletion]:
        """Delete what this pipeline created (campaigns to dataset group), waiting until each is gone."""
        found: dict[str, list[str]] = {kind: [] for kind in personalize_api.DELETION_ORDER}
        group = self._find("list_dataset_groups", "datasetGroups", "name", self.name)
        if group:
            group_arn = group["datasetGroupArn"]
            found["dataset_group"] = [group_arn]
            found["solution"] = self._arns("list_solutions", "solutions", "solutionArn", datasetGroupArn=group_arn)
            found["campaign"] = [
                arn
                for solution in found["solution"]
                for arn in self._arns("list_campaigns", "campaigns", "campaignArn", solutionArn=solution)
            ]
            found["filter"] = self._arns("list_filters", "Filters", "filterArn", datasetGroupArn=group_arn)
            found["event_tracker"] = self._arns(
                "list_event_trackers", "eventTrackers", "eventTrackerArn", datasetGroupArn=group_arn
            )
            found["dataset"] = self._arns("list_datasets", "datasets", "datasetArn", datasetGroupArn=group_arn)
        schema_names = {resource_name(self.name, dataset) for dataset in DATASET_TYPES}
        found["schema"] = [s["schemaArn"] for s in self._list("list_schemas", "schemas") if s["name"] in schema_names]
        plan = deletion_plan(found)
        for step in plan:
            self._delete(step)
        return plan

    # --- lifecycle ------------------------------------------------------------------------------

    def _train(self, interactions: pd.DataFrame, items: pd.DataFrame, fingerprint: str) -> PersonalizeSolutionVersion:
        personalize_api.check_minimums(interactions, self.event_value_threshold)
        locations = {dataset: self._s3_location(dataset_key(dataset)) for dataset in DATASET_TYPES}
        headers = {
            dataset: self.storage.read_bytes(dataset_key(dataset)).decode().split("\n", 1)[0].strip().split(",")
            for dataset in (personalize_api.ITEMS, personalize_api.USERS)
        }
        group_arn = self._dataset_group()
        jobs = []
        for dataset in personalize_api.importable_datasets(headers[personalize_api.USERS]):
            schema = personalize_api.avro_schema(dataset, headers.get(dataset, ()))
            dataset_arn = self._dataset(group_arn, dataset, schema)
            jobs.append(self._import_job(dataset_arn, dataset, locations[dataset], fingerprint))
        for job_arn in jobs:
            self._wait("describe_dataset_import_job", "datasetImportJobArn", job_arn, "datasetImportJob")
        filter_arn = self._create_once(
            "list_filters",
            "Filters",
            "filterArn",
            resource_name(self.name, "exclude-reviewed"),
            "create_filter",
            list_params={"datasetGroupArn": group_arn},
            datasetGroupArn=group_arn,
            filterExpression=personalize_api.EXCLUDE_REVIEWED,
        )
        self._wait("describe_filter", "filterArn", filter_arn, "filter")
        version_arn, training_hours = self._solution_version(group_arn, "solution", self.recipe_arn, fingerprint)
        return PersonalizeSolutionVersion(
            dataset_group_arn=group_arn,
            solution_version_arn=version_arn,
            filter_arn=filter_arn,
            recipe_arn=self.recipe_arn,
            training_hours=training_hours,
            trained_users=int(interactions["USER_ID"].nunique()),
            trained_items=int(pd.concat([items["ITEM_ID"], interactions["ITEM_ID"]]).nunique()),
            metrics=self._metrics(version_arn),
        )

    def _dataset_group(self) -> str:
        arn = self._create_once(
            "list_dataset_groups", "datasetGroups", "datasetGroupArn", self.name, "create_dataset_group"
        )
        self._wait("describe_dataset_group", "datasetGroupArn", arn, "datasetGroup")
        return arn

    def _dataset(self, group_arn: str, dataset: str, schema: str) -> str:
        name = resource_name(self.name, dataset)
        schema_arn = self._create_once("list_schemas", "schemas", "schemaArn", name, "create_schema", schema=schema)
        arn = self._create_once(
            "list_datasets",
            "datasets",
            "datasetArn",
            name,
            "create_dataset",
            list_params={"datasetGroupArn": group_arn},
            schemaArn=schema_arn,
            datasetGroupArn=group_arn,
            datasetType=DATASET_TYPES[dataset],
        )
        self._wait("describe_dataset", "datasetArn", arn, "dataset")
        return arn

    def _import_job(self, dataset_arn: str, dataset: str, location: str, fingerprint: str) -> str:
        """The import job of this data: a running or finished one is reused, a failed one retried under a new name."""
        jobs = self._list("list_dataset_import_jobs", "datasetImportJobs", datasetArn=dataset_arn)
        job_arn, new_name = personalize_api.reusable_job(
            jobs, resource_name(self.name, dataset, fingerprint), "datasetImportJobArn"
        )
        if job_arn is not None:
            return job_arn
        return self.client("personalize").create_dataset_import_job(
            jobName=new_name,
            datasetArn=dataset_arn,
            dataSource={"dataLocation": location},
            roleArn=self.role_arn,
            importMode="FULL",
        )["datasetImportJobArn"]

    def _solution_version(self, group_arn: str, label: str, recipe_arn: str, fingerprint: str) -> tuple[str, float]:
        """(ARN, training hours) of the ACTIVE solution version `label`-`fingerprint`, trained when missing."""
        solution_config = {"eventValueThreshold": str(self.event_value_threshold)} if self.event_value_threshold else {}
        solution_arn = self._create_once(
            "list_solutions",
            "solutions",
            "solutionArn",
            resource_name(self.name, label),
            "create_solution",
            list_params={"datasetGroupArn": group_arn},
            datasetGroupArn=group_arn,
            recipeArn=recipe_arn,
            solutionConfig=solution_config,
            performAutoTraining=False,  # the default retrains (and bills) every 7 days; the pipeline retrains itself
        )
        solution = self._wait("describe_solution", "solutionArn", solution_arn, "solution")
        self._switch_off_automatic_training(solution_arn, solution)
        api = self.client("personalize")
        version_name = resource_name(self.name, label, fingerprint)
        version_arn = (
            next(
                (
                    summary["solutionVersionArn"]
                    for summary in self._list("list_solution_versions", "solutionVersions", solutionArn=solution_arn)
                    if creation_state(summary["status"]) != "failed"
                    and api.describe_solution_version(solutionVersionArn=summary["solutionVersionArn"])[
                        "solutionVersion"
                    ].get("name")
                    == version_name
                ),
                None,
            )
            or api.create_solution_version(name=version_name, solutionArn=solution_arn, trainingMode="FULL")[
                "solutionVersionArn"
            ]
        )
        version = self._wait("describe_solution_version", "solutionVersionArn", version_arn, "solutionVersion")
        return version_arn, float(version.get("trainingHours", 0.0))

    def _switch_off_automatic_training(self, solution_arn: str, solution: dict) -> None:
        """Turn off the weekly automatic training of a solution an earlier release made with it on.

        An update already under way is waited for first. If the update fails, training goes on and
        the failure is logged: the solution then still retrains weekly, as before.
        """
        try:
            if creation_state(_latest_update_status(solution)["status"]) == "pending":
                solution = self._wait(
                    "describe_solution", "solutionArn", solution_arn, "solution", _latest_update_status
                )
            if _automatic_training(solution):
                self.client("personalize").update_solution(solutionArn=solution_arn, performAutoTraining=False)
                self._wait("describe_solution", "solutionArn", solution_arn, "solution", _latest_update_status)
        except (PersonalizeFailure, ClientError) as failure:
            get_dagster_logger().warning(f"{solution_arn} keeps Personalize's weekly automatic training: {failure}")

    def _metrics(self, version_arn: str) -> dict[str, float]:
        return personalize_api.solution_metrics(
            self.client("personalize").get_solution_metrics(solutionVersionArn=version_arn)["metrics"]
        )

    # --- API helpers ----------------------------------------------------------------------------

    def _list(self, operation: str, result_key: str, **params) -> list[dict]:
        pages = self.client("personalize").get_paginator(operation).paginate(**params)
        return [summary for page in pages for summary in page[result_key]]

    def _find(self, operation: str, result_key: str, name_key: str, name: str, **params) -> dict | None:
        return next((s for s in self._list(operation, result_key, **params) if s[name_key] == name), None)

    def _arns(self, operation: str, result_key: str, arn_key: str, **params) -> list[str]:
        return [summary[arn_key] for summary in self._list(operation, result_key, **params)]

    def _create_once(
        self,
        list_operation: str,
        result_key: str,
        arn_key: str,
        name: str,
        create_operation: str,
        list_params: dict | None = None,
        **create_params,
    ) -> str:
        """ARN of the resource called `name`: the existing one, else a new one (a concurrent creation is tolerated)."""
        list_params = list_params or {}
        existing = self._find(list_operation, result_key, "name", name, **list_params)
        if existing:
            return existing[arn_key]
        try:
            return getattr(self.client("personalize"), create_operation)(name=name, **create_params)[arn_key]
        except ClientError as error:
            if _error_code(error) != "ResourceAlreadyExistsException":
                raise
            return self._find(list_operation, result_key, "name", name, **list_params)[arn_key]

    def _wait(
        self, operation: str, arn_key: str, arn: str, result_key: str, status_of: Callable[[dict], dict] = lambda d: d
    ) -> dict:
        """Poll until ACTIVE; a failed resource raises with its failureReason, a slow one after timeout_seconds.

        `status_of` picks the part of the description whose status counts (default: the resource itself).
        """
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            described = getattr(self.client("personalize"), operation)(**{arn_key: arn})[result_key]
            part = status_of(described)
            state = creation_state(part["status"])
            if state == "done":
                return described
            if state == "failed":
                raise PersonalizeFailure(
                    f"{arn} failed ({part['status']}): {part.get('failureReason') or 'no reason given'}"
                )
            if time.monotonic() >= deadline:
                raise PersonalizeFailure(f"{arn} still {part['status']} after {self.timeout_seconds:,.0f} s")
            time.sleep(self.poll_seconds)

    def _delete(self, step: Deletion) -> None:
        """Delete one resource and wait until describe says it is gone; already gone is fine."""
        delete, describe, arn_key = _DELETE_CALLS[step.kind]
        api = self.client("personalize")
        try:
            getattr(api, delete)(**{arn_key: step.arn})
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            try:
                getattr(api, describe)(**{arn_key: step.arn})
            except ClientError as error:
                if _error_code(error) == "ResourceNotFoundException":
                    return
                raise
            if time.monotonic() >= deadline:
                raise PersonalizeFailure(f"{step.arn} still exists {self.timeout_seconds:,.0f} s after its deletion")
            time.sleep(self.poll_seconds)

    def _s3_location(self, key: str) -> str:
        location = self.storage.location(key)
        if not location.startswith("s3://"):
            raise PersonalizeFailure(
                f"Personalize reads and writes S3 only, and {key} is at {location}: set RECSYS_STORAGE=s3"
            )
        return location
