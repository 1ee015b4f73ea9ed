"""Personalized marketing emails, one .eml per customer."""

from email import message_from_bytes

import pandas as pd
from dagster import MaterializeResult, MetadataValue, asset

from recsys_assets.assets.metadata import table_metadata
from recsys_assets.emails import email_filename
from recsys_assets.resources.email_writer import EmailWriter
from recsys_assets.resources.storage import ObjectStore

EMAIL_PREFIX = "emails/"


@asset(group_name="marketing")
def emails(
    recommendations: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame, email_writer: EmailWriter, storage: ObjectStore
) -> MaterializeResult:
    """One email per customer with recommendations: subject, plain text and HTML, as a standard .eml file."""
    written, failures, keys, sample = [], [], set(), None
    for batch, failed in email_writer.write(recommendations, products, users):
        batch_keys = (EMAIL_PREFIX + email_filename(pd.Series([e.user_id for e in batch], dtype="string"))).tolist()
        for key, packaged in zip(batch_keys, batch):
            storage.write_bytes(key, packaged.eml)
        written += [(e.user_id, e.subject, key) for e, key in zip(batch, batch_keys)]
        failures += failed
        keys.update(batch_keys)
        sample = sample or (batch[0].eml if batch else None)
    storage.delete_others(EMAIL_PREFIX, keys)
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
            folder=MetadataValue.path(storage.location(EMAIL_PREFIX)),
            sample_email=MetadataValue.md(f"```\n{sample_text}\n```"),
        ),
    )
