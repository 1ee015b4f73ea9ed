"""Personalized marketing emails, one .eml per customer."""

from collections import Counter
from email import message_from_bytes

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from recsys_assets.assets.checks import schema_check_result, schema_check_spec
from recsys_assets.assets.metadata import table_metadata
from recsys_assets.assets.partitions import segments
from recsys_assets.emails import email_filename
from recsys_assets.resources.email_writer import EmailWriter
from recsys_assets.resources.storage import ObjectStore

def email_folder(segment: str) -> str:
    """Where a segment's .eml files are written."""
    return f"emails/{segment}/"


@asset(
    group_name="marketing",
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
    """One email per customer of a segment: subject, plain text and HTML, as a standard .eml file."""
    folder = email_folder(context.partition_key)
    written, failures, keys, sample = [], [], set(), None
    origins, usage = Counter(), Counter()
    for batch, failed in email_writer.write(recommendations, products, users):
        batch_keys = (folder + email_filename(pd.Series([e.user_id for e in batch], dtype="string"))).tolist()
        for key, packaged in zip(batch_keys, batch):
            storage.write_bytes(key, packaged.eml)
        written += [(e.user_id, e.subject, key) for e, key in zip(batch, batch_keys)]
        failures += failed
        origins.update(e.origin for e in batch)
        usage.update(input_tokens=sum(e.input_tokens for e in batch), output_tokens=sum(e.output_tokens for e in batch))
        keys.update(batch_keys)
        sample = sample or (batch[0].eml if batch else None)
    storage.delete_others(folder, keys)
    table = pd.concat(
        [
            pd.DataFrame(written, columns=["user_id", "subject", "key"]).assign(status="written", error=""),
            pd.DataFrame(
                {"user_id": [f.user_id for f in failures], "subject": "", "key": "", "status": "failed", "error": [f.reason for f in failures]}
            ),
        ],
        ignore_index=True,
    ).astype("string")
    sample_text = message_from_bytes(sample).get_payload(0).get_payload(decode=True).decode() if sample else ""
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "subject", "status"]],
            emails_written=len(written),
            emails_failed=len(failures),
            emails_from_model=origins["model"],
            emails_fallback=origins["fallback"],
            model_input_tokens=usage["input_tokens"],
            model_output_tokens=usage["output_tokens"],
            folder=MetadataValue.path(storage.location(folder)),
            sample_email=MetadataValue.md(f"```\n{sample_text}\n```"),
        ),
        check_results=[schema_check_result("emails", table)],
    )
