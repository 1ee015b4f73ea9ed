"""Marketing: customer segments, and one personalized email per customer of a segment."""

import hashlib
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from recsys_assets.defs.checks import schema_check_result, schema_check_spec
from recsys_assets.defs.conventions import MARKETING
from recsys_assets.defs.metadata import share_table, table_metadata
from recsys_assets.defs.partitions import segments
from recsys_assets.emails.audit import ReadEmail, email_problems, problem_counts, read_eml
from recsys_assets.emails.gallery import (
    INDEX_PAGE,
    GalleryCard,
    gallery_pages,
    is_gallery_page,
    markdown_line,
    sample_emails,
)
from recsys_assets.emails.recipients import NO_ADDRESS, reason_counts
from recsys_assets.emails.render import email_digests, email_filename
from recsys_assets.resources.email_writer import EmailWriter
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.segmentation import assign_segments

SEGMENT_NAMES = "segment_names"
# Stored emails read back at once to check their bytes (a GET each on S3).
READ_THREADS = 16
SENDABLE = "emails_are_sendable"
# Emails shown in full in the asset's metadata, and emails named in a failed sendability check.
SAMPLE_EMAILS = 2
PROBLEM_EXAMPLES = 5
# A failed check's one-line account, which `recsys run` prints.
CHECK_SUMMARY = "summary"
# The emails' metadata: {reason: customers of the segment with no email}, which the run summary adds up.
SKIPPED_BY_REASON = "skipped_by_reason"


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


def gallery_key(segment: str) -> str:
    """Where a segment's campaign preview is written, next to its .eml files (`emails.gallery`)."""
    return email_folder(segment) + INDEX_PAGE


def inputs_manifest(segment: str) -> str:
    """Where a segment's email manifest is kept: user_id, digest of the email's inputs, subject, preheader, key,
    sha256 of the email's bytes."""
    return f"email_inputs/{segment}.parquet"


MANIFEST_COLUMNS = ["user_id", "digest", "subject", "preheader", "key", "sha256"]


def unchanged_emails(storage: ObjectStore, segment: str, digests: pd.Series) -> pd.DataFrame:
    """The stored emails (MANIFEST_COLUMNS, and the file's bytes as `eml`) whose inputs hash equals the user's
    current one and whose file still holds the bytes the manifest recorded (only those files are read). No
    manifest (first run) or an unreadable one: nothing is reused.
    """
    empty = pd.DataFrame(columns=MANIFEST_COLUMNS, dtype="string").assign(eml=pd.Series(dtype=object))
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
        stored = list(pool.map(lambda key: _with_digest(storage.read_bytes(key)), candidates["key"]))
    digests_read = pd.Series([digest for _, digest in stored], index=candidates.index, dtype="string")
    candidates = candidates.assign(eml=pd.Series([data for data, _ in stored], index=candidates.index, dtype=object))
    return candidates[candidates["sha256"].eq(digests_read).fillna(False).astype(bool)].reset_index(drop=True)


def _with_digest(data: bytes) -> tuple[bytes, str]:
    return data, hashlib.sha256(data).hexdigest()


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
    check_specs=[
        schema_check_spec("emails"),
        AssetCheckSpec(
            SENDABLE,
            asset="emails",
            blocking=True,
            description="Every email written or kept has what a sender needs (emails/audit.py): Date, From, To, "
            "Subject, Message-ID, one-click List-Unsubscribe, viewport, alt text, postal address, unsubscribe link, "
            "a short whole-word subject and no placeholder greeting.",
        ),
    ],
    automation_condition=AutomationCondition.eager(),
    pool="bedrock",
)
def emails(
    context: AssetExecutionContext,
    recommendations: pd.DataFrame,
    products: pd.DataFrame,
    users: pd.DataFrame,
    recipients: pd.DataFrame,
    email_writer: EmailWriter,
    storage: ObjectStore,
):
    """One email per customer of a segment who may be written to (`recipients`), to their own address: subject,
    plain text and HTML, as a standard .eml file, and the segment's campaign preview (index.html) next to them; the
    other customers are counted by reason, and an email stored for one of them is deleted.

    An email whose inputs (the customer's recommended products, name, address and the writer's version:
    templates, model settings) did not change since it was written is kept as it is, so a re-run
    renders, or asks the model for, only new, changed, failed and fallback emails.
    """
    segment = context.partition_key
    folder = email_folder(segment)
    # a customer the recipients table does not know has no address to write to
    members = recipients.set_index("user_id").reindex(pd.Index(recommendations["USER_ID"].unique(), dtype="string"))
    reasons = members["reason"].fillna(NO_ADDRESS)
    addresses = members.loc[reasons.eq("").to_numpy(bool), "email"]
    skipped = reason_counts(reasons[reasons.ne("")])
    recommendations = recommendations[recommendations["USER_ID"].isin(addresses.index)]
    keys = unique_email_keys(folder, pd.Series(addresses.index))
    digests = email_digests(recommendations, products, users, addresses, email_writer.version())
    reused = unchanged_emails(storage, segment, digests)
    postal_address = email_writer.brand().postal_address
    # every email is audited as it comes and keeps its HTML compressed for the gallery; the samples are kept whole
    sampled = set(sorted(keys.index)[:SAMPLE_EMAILS])
    problems, previews, pages, shown = {}, {}, {}, {}

    def preview(user_id: str, email: ReadEmail, preheader: str) -> None:
        problems[user_id] = email_problems(email, postal_address)
        previews[user_id] = (email.subject, preheader)
        pages[user_id] = zlib.compress(email.html.encode(), 1)
        if user_id in sampled:
            shown[user_id] = email

    for user_id, eml, preheader in zip(reused["user_id"], reused["eml"], reused["preheader"]):
        preview(user_id, read_eml(eml), preheader)
    manifest, failures = [reused[MANIFEST_COLUMNS]], []
    origins, usage, fallback_reasons = Counter(), Counter(), Counter()
    todo = recommendations[~recommendations["USER_ID"].isin(reused["user_id"])]
    for batch, failed in email_writer.write(todo, products, users, addresses, email_writer.date_for(context)):
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
                    "preheader": [e.preheader for e in batch],
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
        for e in batch:
            preview(e.user_id, read_eml(e.eml, e.html or None), e.preheader)
    written = pd.concat(manifest, ignore_index=True)
    gallery = []
    for name, page in gallery_pages(
        segment, gallery_cards(previews, users), lambda card: zlib.decompress(pages[card.user_id]).decode()
    ):
        storage.write_bytes(folder + name, page)
        gallery.append(folder + name)
    storage.delete_others(folder, {*written["key"], *gallery})
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
            emails_skipped=sum(skipped.values()),
            **({"skipped_reasons": share_table(pd.Series(skipped), "reason")} if skipped else {}),
            **{SKIPPED_BY_REASON: MetadataValue.json(skipped)},
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
            gallery=_link(storage.location(gallery_key(segment))),
            sample_emails=MetadataValue.md(
                sample_emails(shown, {u: p for u, (_, p) in previews.items()}, SAMPLE_EMAILS)
            ),
        ),
        check_results=[schema_check_result("emails", table), sendable_check_result(problems)],
    )


def gallery_cards(previews: dict[str, tuple[str, str]], users: pd.DataFrame) -> list[GalleryCard]:
    """A gallery card per email of `previews` (user id: subject, preview text) with the customer's name; the HTML
    is the gallery's to ask for, a page at a time."""
    names = users.drop_duplicates("user_id").set_index("user_id")["user_name"].reindex(list(previews)).fillna("")
    return [
        GalleryCard(user_id, str(name), subject, preheader or "", "")
        for (user_id, (subject, preheader)), name in zip(previews.items(), names)
    ]


def gallery_keys(storage: ObjectStore, segment: str) -> set[str]:
    """The keys of a segment's stored gallery pages."""
    return {key for key in storage.list_keys(email_folder(segment)) if is_gallery_page(key.rpartition("/")[2])}


def _link(location: str) -> MetadataValue:
    """A local file as a file:// URL the UI opens; anything else (an s3:// location) as a path."""
    return MetadataValue.url(Path(location).as_uri()) if Path(location).is_absolute() else MetadataValue.path(location)


def sendable_check_result(problems: dict[str, list[str]]) -> AssetCheckResult:
    """The blocking sendability check of {user id: problems}: it passes when no email has one; its metadata counts
    the emails by problem and names a few."""
    bad = {user_id: kinds for user_id, kinds in sorted(problems.items()) if kinds}
    counts = problem_counts(bad).most_common()
    table = ["| problem | emails | share |", "| --- | ---: | ---: |"]
    table += [f"| {kind} | {n:,} | {n / len(problems):.1%} |" for kind, n in counts]
    examples = [
        f"- {markdown_line(user_id)}: {'; '.join(kinds)}" for user_id, kinds in list(bad.items())[:PROBLEM_EXAMPLES]
    ]
    summary = f"{len(bad):,} of {len(problems):,} emails are not sendable: " + "; ".join(
        f"{k} ({n:,})" for k, n in counts
    )
    return AssetCheckResult(
        asset_key="emails",
        check_name=SENDABLE,
        passed=not bad,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "emails_checked": len(problems),
            "emails_with_problems": len(bad),
            **(
                {
                    CHECK_SUMMARY: MetadataValue.text(summary),
                    "problems": MetadataValue.md("\n".join(table)),
                    "examples": MetadataValue.md("\n".join(examples)),
                }
                if bad
                else {}
            ),
        },
    )
