"""Amazon Personalize, the pure part: schemas, the service's minimums, batch inference files,
metric names, resource names and the cleanup order. The resource in
`recsys_assets/resources/aws/personalize.py` does the I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import pandas as pd

from recsys_assets.interactions import EVENT_TYPE
from recsys_assets.ml.metrics import METRIC_NAMES
from recsys_assets.ml.serving import RECOMMENDATION_COLUMNS

RECIPE_USER_PERSONALIZATION_V2 = "arn:aws:personalize:::recipe/aws-user-personalization-v2"
# Never recommend an item the user already reviewed (every review is an interaction of this type).
EXCLUDE_REVIEWED = f'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("{EVENT_TYPE}")'
MIN_INTERACTIONS = 1_000
MIN_USERS_WITH_TWO = 25
MAX_NAME_CHARS = 63
SOURCE = "personalize"

INTERACTIONS, ITEMS, USERS = "interactions", "items", "users"
DATASET_TYPES = {INTERACTIONS: "Interactions", ITEMS: "Items", USERS: "Users"}
_FIELDS = {
    INTERACTIONS: [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": "float"},
    ],
}
# The metadata fields an import file may have, by its column (CATEGORY_L<n>: any level).
_ITEM_METADATA_FIELDS = {
    "BRAND": {"name": "BRAND", "type": ["null", "string"], "categorical": True},
    "PRICE": {"name": "PRICE", "type": ["null", "float"]},
    "DESCRIPTION": {"name": "DESCRIPTION", "type": ["null", "string"], "textual": True},
}
_USER_METADATA_FIELDS = {
    "AGE": {"name": "AGE", "type": ["null", "int"]},
    "COUNTRY": {"name": "COUNTRY", "type": ["null", "string"], "categorical": True},
}

# What the cleanup deletes, in the order Personalize allows (dependents first).
DELETION_ORDER = ("campaign", "event_tracker", "filter", "solution", "dataset", "schema", "dataset_group")


class PersonalizeDataError(ValueError):
    """The data is below what Amazon Personalize accepts; raised before any API call."""


class PersonalizeFailure(RuntimeError):
    """A Personalize resource ended in a failed state or did not finish in time."""


@dataclass(frozen=True)
class PersonalizeSolutionVersion:
    """A trained Personalize solution version: what `recommend` needs, and what training reported."""

    dataset_group_arn: str
    solution_version_arn: str
    filter_arn: str
    recipe_arn: str
    training_hours: float
    trained_users: int
    trained_items: int
    metrics: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """JSON, with metrics Personalize did not return (NaN) as null."""
        metrics = {name: None if math.isnan(value) else value for name, value in self.metrics.items()}
        return json.dumps(asdict(self) | {"metrics": metrics}, indent=2, allow_nan=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PersonalizeSolutionVersion:
        fields = json.loads(data)
        metrics = {name: math.nan if value is None else value for name, value in fields.pop("metrics").items()}
        return cls(**fields, metrics=metrics)


@dataclass(frozen=True)
class BatchOutput:
    """Recommendations parsed from batch inference output, and the requested users without any (and why)."""

    recommendations: pd.DataFrame
    failures: pd.DataFrame


@dataclass(frozen=True)
class Deletion:
    """One resource to delete: its kind (see DELETION_ORDER) and ARN."""

    kind: str
    arn: str


def avro_schema(dataset: str, columns: Iterable[str] = ()) -> str:
    """The Avro schema (JSON text) of a dataset, with the fields of its import CSV (`columns`, its header; the
    interactions' are fixed) in order."""
    if dataset == USERS:
        fields = [
            {"name": "USER_ID", "type": "string"},
            *(_USER_METADATA_FIELDS[c] for c in columns if c != "USER_ID"),
        ]
    elif dataset == ITEMS:
        fields = [{"name": "ITEM_ID", "type": "string"}, *(_item_field(c) for c in columns if c != "ITEM_ID")]
    else:
        fields = _FIELDS[dataset]
    return json.dumps(
        {
            "type": "record",
            "name": DATASET_TYPES[dataset],
            "namespace": "com.amazonaws.personalize.schema",
            "fields": fields,
            "version": "1.0",
        }
    )


def _item_field(column: str) -> dict:
    """The Avro field of an items column: a category level is a categorical string."""
    if column.startswith("CATEGORY_L"):
        return {"name": column, "type": ["null", "string"], "categorical": True}
    return _ITEM_METADATA_FIELDS[column]


def importable_datasets(user_columns: Iterable[str]) -> list[str]:
    """Datasets to import: the users dataset only when it has a metadata column (Personalize needs one)."""
    has_metadata = any(column in _USER_METADATA_FIELDS for column in user_columns)
    return [INTERACTIONS, ITEMS, *([USERS] if has_metadata else [])]


def check_minimums(interactions: pd.DataFrame, event_value_threshold: float = 0.0) -> None:
    """Raise PersonalizeDataError unless the interactions that train (EVENT_VALUE >= threshold) meet the minimums."""
    training = interactions[interactions["EVENT_VALUE"] >= event_value_threshold]
    users_with_two = int((training["USER_ID"].value_counts() >= 2).sum())
    problems = []
    if len(training) < MIN_INTERACTIONS:
        problems.append(f"{len(training):,} interactions (needs {MIN_INTERACTIONS:,})")
    if users_with_two < MIN_USERS_WITH_TWO:
        problems.append(f"{users_with_two:,} users with 2+ interactions (needs {MIN_USERS_WITH_TWO:,})")
    if problems:
        raise PersonalizeDataError(
            f"Amazon Personalize cannot train on this data: {' and '.join(problems)} "
            f"with EVENT_VALUE >= {event_value_threshold:g}. Use the local recommender (RECSYS_RECOMMENDER=local)."
        )


def data_fingerprint(*frames: pd.DataFrame) -> str:
    """12 hex digits that change when any frame's content changes (names re-runs can find)."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()[:12]


def resource_name(*parts: str) -> str:
    """A Personalize name ('recsys-interactions'): letters, digits, '-' and '_', at most 63 characters."""
    name = "-".join(parts)
    if len(name) > MAX_NAME_CHARS or not name[:1].isalnum() or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(
            f"{name!r} is not a valid Personalize name (letters, digits, - and _, at most {MAX_NAME_CHARS})"
        )
    return name


def batch_input(user_ids: Iterable[str]) -> bytes:
    """Batch inference input: one JSON line {"userId": ...} per distinct user."""
    users = pd.unique(pd.Series(list(user_ids), dtype="str"))
    return "".join(json.dumps({"userId": user}) + "\n" for user in users).encode()


def parse_batch_output(text: str, user_ids: Iterable[str], num_results: int) -> BatchOutput:
    """Recommendations (RECOMMENDATION_COLUMNS, SOURCE 'personalize', no reason) for the requested users.

    Lines are matched to users by input.userId, never by position; a user whose line carries an
    error, or who has no line, is a failure. Scores are null when the recipe returns none.
    """
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    parsed = pd.DataFrame(
        {
            "USER_ID": pd.Series([str(line["input"]["userId"]) for line in lines], dtype="str"),
            "ITEM_ID": [(line.get("output") or {}).get("recommendedItems") or [] for line in lines],
            "SCORE": [(line.get("output") or {}).get("scores") for line in lines],
            "error": pd.Series([line.get("error") for line in lines], dtype="str"),
        }
    ).drop_duplicates("USER_ID")
    parsed["SCORE"] = [
        s if s is not None and len(s) == len(i) else [math.nan] * len(i)
        for s, i in zip(parsed["SCORE"], parsed["ITEM_ID"])
    ]
    requested = pd.Series(pd.unique(pd.Series(list(user_ids), dtype="str")), dtype="str")
    parsed = parsed[parsed["USER_ID"].isin(requested)]
    ok = parsed[parsed["error"].isna()]
    exploded = ok[["USER_ID", "ITEM_ID", "SCORE"]].explode(["ITEM_ID", "SCORE"]).dropna(subset=["ITEM_ID"])
    exploded["RANK"] = exploded.groupby("USER_ID", sort=False).cumcount() + 1
    exploded = exploded[exploded["RANK"] <= num_results].sort_values(["USER_ID", "RANK"], kind="stable")
    recommendations = pd.DataFrame(
        {
            "USER_ID": exploded["USER_ID"].astype("str"),
            "RANK": exploded["RANK"].astype("int64"),
            "ITEM_ID": exploded["ITEM_ID"].astype("str"),
            "SCORE": exploded["SCORE"].astype("float64"),
            "SOURCE": pd.Series(SOURCE, index=exploded.index, dtype="str"),
            "REASON_ITEM_ID": pd.Series(None, index=exploded.index, dtype="str"),
            "REASON_CATEGORY": pd.Series(None, index=exploded.index, dtype="str"),
        },
        columns=list(RECOMMENDATION_COLUMNS),
    ).reset_index(drop=True)
    errors = parsed.set_index("USER_ID")["error"]
    missing = requested[~requested.isin(ok["USER_ID"])]
    failures = pd.DataFrame(
        {"USER_ID": missing.to_numpy(), "error": missing.map(errors).fillna("no line in the batch output").to_numpy()}
    ).astype("str")
    return BatchOutput(recommendations, failures)


def solution_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """get_solution_metrics' values under the names the local model reports (NaN where not returned)."""
    return {name: float(metrics.get(name, math.nan)) for name in METRIC_NAMES}


def reusable_job(summaries: Iterable[Mapping], base_name: str, arn_key: str) -> tuple[str | None, str]:
    """(ARN of a running or finished job named `base_name`[-n], None if all failed; name for a new attempt).

    Job names are unique and jobs cannot be deleted, so a retry after failures is `base_name`-<failures>.
    """
    attempts = [s for s in summaries if s["jobName"] == base_name or s["jobName"].startswith(f"{base_name}-")]
    usable = [s[arn_key] for s in attempts if creation_state(s["status"]) != "failed"]
    return (usable[0] if usable else None), (f"{base_name}-{len(attempts)}" if attempts else base_name)


def creation_state(status: str) -> str:
    """'done', 'failed' or 'pending' for a Personalize status (ACTIVE, CREATE FAILED, CREATE IN_PROGRESS, ...).

    A stopped (or stopping) training never becomes ACTIVE: it counts as failed, so it is not waited on or reused.
    """
    if status == "ACTIVE":
        return "done"
    return "failed" if "FAILED" in status or "STOPP" in status else "pending"


def deletion_plan(found: Mapping[str, Iterable[str]]) -> list[Deletion]:
    """Every found resource once, dependents before what they depend on (DELETION_ORDER)."""
    unknown = set(found) - set(DELETION_ORDER)
    if unknown:
        raise ValueError(f"cannot order the deletion of {sorted(unknown)}")
    return [Deletion(kind, arn) for kind in DELETION_ORDER for arn in sorted(set(found.get(kind, ())))]
