"""Marketing: customer segments, and one personalized email per customer of a segment."""

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from io import BytesIO

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from recsys_assets.defs.checks import schema_check_result, schema_check_spec
from recsys_assets.defs.conventions import MARKETING
from recsys_assets.defs.metadata import share_table, table_metadata
from recsys_assets.defs.partitions import segments
from recsys_assets.emails.render import email_digests, email_filename
from recsys_assets.resources.email_writer import EmailWriter
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.segmentation import assign_segments

SEGMENT_NAMES = "segment_names"
# Stored emails read back at once to check their bytes (a GET each on S3).
READ_THREADS = 16


@asset(
    group_name=MARKETING,
    check_specs=[schema_check_spec("customer_segments")],
    automation_condition=AutomationCondition.eager(),
)
def customer_segments(users: pd.DataFrame, settings: PipelineSettings):
    """Each customer's segment: the top-level category they review most, or `general` with little history."""
    table = assign_segments(users, min_reviews=settings.segment_min_reviews)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            segments=int(table["segment"].nunique()),
            segment_sizes=share_table(table["segment"].value_counts(), "segment"),
            **{SEGMENT_NAMES: MetadataValue.json(sorted(table["segment"].unique().tolist()))},
        ),
        check_results=[schema_check_result("customer_segments", table)],
    )


def email_folder(segment: str) -> str:
    """Where a segment's .eml files are written."""
    return f"emails/{segment}/"


def inputs_manifest(segment: str) -> str:
    """Where a segment's email manifest is kept: user_id, digest of the email's inputs, subject, key, sha256 of
    the email's bytes."""
    return f"email_inputs/{segment}.parquet"


MANIFEST_COLUMNS = ["user_id", "digest", "subject", "key", "sha256"]


def unchanged_emails(storage: ObjectStore, segment: str, digests: pd.Series) -> pd.DataFrame:
    """The stored emails (MANIFEST_COLUMNS) whose inputs hash equals the user's current one and whose file still
    holds the bytes the manifest recorded (only those files are read). No manifest (first run) or an unreadable
    one: nothing is reused.
    """
    empty = pd.DataFrame(columns=MANIFEST_COLUMNS, dtype="string")
    if not storage.exists(inputs_manifest(segment)):
        return empty
    try:
        previous = pd.read_parquet(BytesIO(storage.read_bytes(inputs_manifest(segment))))[MANIFEST_COLUMNS]
    except (ValueError, KeyError, OSError):
        return empty
    previous = previous[previous["key"].isin(set(storage.list_keys(email_folder(segment))))]
    current = pd.DataFrame({"user_id": digests.index, "digest": digests.to_numpy()}, dtype="string")
    candidates = previous.astype("string").merge(current, on=["user_id", "digest"])[MANIFEST_COLUMNS]
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        stored = pool.map(lambda key: hashlib.sha256(storage.read_bytes(key)).hexdigest(), candidates["key"])
        intact = candidates["sha256"].eq(pd.Series(list(stored), index=candidates.index, dtype="string"))
    return candidates[intact.fillna(False).astype(bool)].reset_index(drop=True)


def unique_email_keys(folder: str, user_ids: pd.Series) -> pd.Series:
    """Each user's email key, indexed by user id; two users with one key is a bug in `email_filename`: it raises."""
    keys = pd.Series((folder + email_filename(user_ids.astype("string"))).to_numpy(), index=user_ids.to_numpy())
    shared = keys[keys.duplicated(keep=False)]
    if len(shared):
        raise RuntimeError(f"bug: users {sorted(shared.index)[:6]} share email files {sorted(set(shared))[:3]}")
    return keys


@asset(
    group_name=MARKETING,
    partitions_def=segments,
    check_specs=[schema_check_spec("emails")],
    automation_condition=AutomationCondition.eager(),
    pool="bedrock",
)
def emails(
    context: AssetExecutionContext,
    recommendations: pd.DataFrame,
    products: pd.DataFrame,
    users: pd.DataFrame,
    email_writer: EmailWriter,
    storage: ObjectStore,
):
    """One email per customer of a segment: subject, plain text and HTML, as a standard .eml file.

    An email whose inputs (the customer's recommended products, name and the writer's version:
    templates, model settings) did not change since it was written is kept as it is, so a re-run
    renders, or asks the model for, only new, changed, failed and fallback emails.
    """
    segment = context.partition_key
    folder = email_folder(segment)
    keys = unique_email_keys(folder, pd.Series(recommendations["USER_ID"].unique()))
    digests = email_digests(recommendations, products, users, email_writer.version())
    reused = unchanged_emails(storage, segment, digests)
    manifest, failures, sample = [reused], [], None
    origins, usage, fallback_reasons = Counter(), Counter(), Counter()
    todo = recommendations[~recommendations["USER_ID"].isin(reused["user_id"])]
    for batch, failed in email_writer.write(todo, products, users, email_writer.date_for(context)):
        batch_keys = keys.loc[[e.user_id for e in batch]].tolist()
        for key, packaged in zip(batch_keys, batch):
            storage.write_bytes(key, packaged.eml)
        # a fallback email gets no digest, so the next run asks the model again
        manifest.append(
            pd.DataFrame(
                {
                    "user_id": [e.user_id for e in batch],
                    "digest": [digests[e.user_id] if e.origin != "fallback" else "" for e in batch],
                    "subject": [e.subject for e in batch],
                    "key": batch_keys,
                    "sha256": [hashlib.sha256(e.eml).hexdigest() for e in batch],
                },
                dtype="string",
            )
        )
        failures += failed
        origins.update(e.origin for e in batch)
        fallback_reasons.update(e.fallback_reason for e in batch if e.origin == "fallback")
        usage.update(input_tokens=sum(e.input_tokens for e in batch), output_tokens=sum(e.output_tokens for e in batch))
        sample = sample or (batch[0].eml if batch else None)
    written = pd.concat(manifest, ignore_index=True)
    storage.delete_others(folder, set(written["key"]))
    storage.write_bytes(inputs_manifest(segment), written.to_parquet(index=False))
    table = (
        pd.concat(
            [
                written[["user_id", "subject", "key"]].assign(status="written", error=""),
                pd.DataFrame(
                    {
                        "user_id": [f.user_id for f in failures],
                        "subject": "",
                        "key": "",
                        "status": "failed",
                        "error": [f.reason for f in failures],
                    }
                ),
            ],
            ignore_index=True,
        )
        .astype("string")
        .sort_values("user_id", kind="stable", ignore_index=True)
    )
    sample_text = message_from_bytes(sample).get_payload(0).get_payload(decode=True).decode() if sample else ""
    if fallback_reasons:
        reason, count = fallback_reasons.most_common(1)[0]
        context.log.warning(
            f"{origins['fallback']:,} emails fell back to the template; the most common reason ({count:,}): {reason}"
        )
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "subject", "status"]],
            emails_written=len(written) - len(reused),
            emails_failed=len(failures),
            emails_from_model=origins["model"],
            emails_reused=len(reused),
            emails_fallback=origins["fallback"],
            **(
                {"fallback_reasons": share_table(pd.Series(dict(fallback_reasons.most_common(10))), "reason")}
                if fallback_reasons
                else {}
            ),
            model_input_tokens=usage["input_tokens"],
            model_output_tokens=usage["output_tokens"],
            folder=MetadataValue.path(storage.location(folder)),
            sample_email=MetadataValue.md(f"```\n{sample_text}\n```"),
        ),
        check_results=[schema_check_result("emails", table)],
    )
