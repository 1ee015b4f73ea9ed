"""Personalized marketing emails, one .eml per customer."""

from collections import Counter
from email import message_from_bytes
from email.parser import BytesHeaderParser
from email.policy import default

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from recsys_assets.assets.checks import schema_check_result, schema_check_spec
from recsys_assets.assets.metadata import table_metadata
from recsys_assets.assets.partitions import segments
from recsys_assets.emails import email_filename, email_items, input_digests, stamp_inputs, stamped_inputs
from recsys_assets.resources.email_writer import EmailWriter
from recsys_assets.resources.storage import ObjectStore


def email_folder(segment: str) -> str:
    """Where a segment's .eml files are written."""
    return f"emails/{segment}/"


def unchanged_emails(storage: ObjectStore, folder: str, digests: pd.Series) -> pd.DataFrame:
    """The stored emails (user_id, subject, key) whose `X-Recsys-Inputs` hash equals the user's current one."""
    keys = folder + email_filename(pd.Series(digests.index, dtype="string"))
    present = keys.isin(set(storage.list_keys(folder))).to_numpy()
    found = []
    for user_id, key, digest in zip(digests.index[present], keys[present], digests[present]):
        eml = storage.read_bytes(key)
        if stamped_inputs(eml) == digest:
            found.append((user_id, str(BytesHeaderParser(policy=default).parsebytes(eml)["Subject"]), key))
    return pd.DataFrame(found, columns=["user_id", "subject", "key"])


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
    """One email per customer of a segment: subject, plain text and HTML, as a standard .eml file.

    With a costly writer (a model), an email whose inputs and writer version did not change since it
    was written is kept as it is; only new, changed, failed and fallback emails are written again.
    """
    folder = email_folder(context.partition_key)
    digests = pd.Series(dtype="string")
    reused = pd.DataFrame(columns=["user_id", "subject", "key"])
    if email_writer.reuses_unchanged_emails:
        digests = input_digests(email_items(recommendations, products), users, email_writer.version())
        reused = unchanged_emails(storage, folder, digests)
    written, failures, keys, sample = list(reused.itertuples(index=False, name=None)), [], set(reused["key"]), None
    origins, usage = Counter(), Counter()
    todo = recommendations[~recommendations["USER_ID"].isin(reused["user_id"])]
    for batch, failed in email_writer.write(todo, products, users):
        batch_keys = (folder + email_filename(pd.Series([e.user_id for e in batch], dtype="string"))).tolist()
        for key, packaged in zip(batch_keys, batch):
            # a fallback email carries no hash, so the next run asks the model again
            stamped = packaged.user_id in digests.index and packaged.origin != "fallback"
            storage.write_bytes(key, stamp_inputs(packaged.eml, digests[packaged.user_id]) if stamped else packaged.eml)
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
    ).astype("string").sort_values("user_id", kind="stable", ignore_index=True)
    sample_text = message_from_bytes(sample).get_payload(0).get_payload(decode=True).decode() if sample else ""
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["user_id", "subject", "status"]],
            emails_written=len(written),
            emails_failed=len(failures),
            emails_from_model=origins["model"],
            emails_reused=len(reused),
            emails_fallback=origins["fallback"],
            model_input_tokens=usage["input_tokens"],
            model_output_tokens=usage["output_tokens"],
            folder=MetadataValue.path(storage.location(folder)),
            sample_email=MetadataValue.md(f"```\n{sample_text}\n```"),
        ),
        check_results=[schema_check_result("emails", table)],
    )
