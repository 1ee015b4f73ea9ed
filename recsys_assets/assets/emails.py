"""Personalized marketing emails, one .eml per customer."""


import pandas as pd
from dagster import MaterializeResult, MetadataValue, asset

from recsys_assets.assets.metadata import table_metadata
from recsys_assets.emails import email_filename, email_items, to_eml
from recsys_assets.resources.email_writer import EmailWriter
from recsys_assets.resources.storage import ObjectStore

EMAIL_PREFIX = "emails/"


@asset(group_name="marketing")
def emails(
    recommendations: pd.DataFrame, products: pd.DataFrame, users: pd.DataFrame, email_writer: EmailWriter, storage: ObjectStore
) -> MaterializeResult:
    """One email per customer with recommendations: subject, plain text and HTML, as a standard .eml file."""
    items = email_items(recommendations, products)
    written, failures = email_writer.write(items, users)
    ids = pd.Series([e.user_id for e in written], dtype="string")
    keys = (EMAIL_PREFIX + email_filename(ids)).tolist()
    storage.replace_prefix(
        EMAIL_PREFIX,
        {key: to_eml(e, email_writer.sender, email_writer.recipient_domain) for key, e in zip(keys, written)},
    )
    table = pd.concat(
        [
            pd.DataFrame({"user_id": ids, "subject": [e.subject for e in written], "key": keys, "status": "written", "error": ""}),
            pd.DataFrame(
                {"user_id": [f.user_id for f in failures], "subject": "", "key": "", "status": "failed", "error": [f.reason for f in failures]}
            ),
        ],
        ignore_index=True,
    ).astype("string")
    sample = written[0].text if written else ""
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "subject", "status"]],
            emails_written=len(written),
            emails_failed=len(failures),
            folder=MetadataValue.path(storage.location(EMAIL_PREFIX)),
            sample_email=MetadataValue.md(f"```\n{sample}\n```"),
        ),
    )
