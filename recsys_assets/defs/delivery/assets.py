"""Delivery: a campaign's emails sent once per customer through the EmailSender, the notifications that suppress
bounced and complaining addresses, and what the campaign changed (mailed customers against the holdout).

None of these is in the default automation: sending is its own job (`send_job`, `recsys send`)."""

import time
from collections import Counter
from datetime import datetime, timezone
from email.utils import parseaddr

import pandas as pd
from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from recsys_assets.defs.conventions import DELIVERY
from recsys_assets.defs.delivery.sending import PLAN_COLUMNS, SendOutcomes, send_plan, sender_owner
from recsys_assets.defs.marketing.assets import SKIPPED_BY_REASON
from recsys_assets.defs.metadata import share_table, table_metadata
from recsys_assets.defs.partitions import segments
from recsys_assets.delivery.eligibility import ALREADY_SENT, DAY_SECONDS, HOLDOUT, skip_reasons
from recsys_assets.delivery.messages import campaign_members, message_ids, sending_problems
from recsys_assets.delivery.notifications import NOTIFICATION_COLUMNS, notification_suppressions, parse_notifications
from recsys_assets.delivery.pacing import RateLimiter
from recsys_assets.delivery.results import campaign_lift
from recsys_assets.emails.render import email_filename, sender_domain
from recsys_assets.environment import SettingsError
from recsys_assets.resources.aws_clients import aws_client
from recsys_assets.resources.delivery_ledger import DeliveryLedger
from recsys_assets.resources.delivery_settings import DeliverySettings
from recsys_assets.resources.email_sender import EmailSender, SendQuota
from recsys_assets.resources.email_writer import EmailWriter
from recsys_assets.resources.object_store import ObjectStore
from recsys_assets.resources.pipeline_settings import PipelineSettings
from recsys_assets.resources.profile_store import ProfileStore

SENDER_POOL = "email_sender"
UNCERTAIN, BEING_SENT, DAILY_CAP = "uncertain", "being sent", "daily cap"
NOTIFICATION_SUFFIX = ".json"
# Long polling: a short poll can come back empty while messages wait, and a complaint would be missed.
SQS_WAIT_SECONDS = 2
SQS_BATCH = 10
# metadata keys `recsys send` and the run summary read
OUTCOME_COUNTS = "outcome_counts"
FAILED_BY_REASON = "failed_by_reason"
UNLIMITED = "unlimited"
DELIVERY_COLUMNS = ["user_id", "email", "message_id", "status", "reason"]


class DeliveryConfig(Config):
    """dry_run: work out who would get an email and count the others by reason, sending nothing and writing no
    ledger row; resend_uncertain: send again, with the same Message-ID, the messages a sender that died left
    unconfirmed."""

    dry_run: bool = False
    resend_uncertain: bool = False


@asset(group_name=DELIVERY, partitions_def=segments, pool=SENDER_POOL)
def email_deliveries(
    context: AssetExecutionContext,
    config: DeliveryConfig,
    emails: pd.DataFrame,
    recommendations: pd.DataFrame,
    recipients: pd.DataFrame,
    storage: ObjectStore,
    profiles: ProfileStore,
    email_writer: EmailWriter,
    email_sender: EmailSender,
    delivery_ledger: DeliveryLedger,
    delivery: DeliverySettings,
) -> MaterializeResult:
    """The segment's emails sent for the campaign, at most one per customer across re-runs, crashes and concurrent
    senders (the delivery ledger); customers who may not be written to, the holdout, those mailed within the
    frequency cap and those past the daily cap get none, each counted by reason."""
    campaign, now = delivery.campaign_id(), time.time()
    brand = email_writer.brand()
    members = campaign_members(emails, recipients, profiles.suppressions())
    members["message_id"] = message_ids(campaign, members["user_id"], sender_domain(brand.sender))
    ledger = delivery_ledger.rows(campaign)
    recent = delivery_ledger.mailed_since(now - delivery.frequency_cap_days * DAY_SECONDS)
    reasons = skip_reasons(
        members[["user_id", "email", "reason"]],
        pd.concat([ledger, recent], ignore_index=True),
        delivery.holdout_share,
        delivery.frequency_cap_days,
        now,
        campaign,
    )
    # a claim left `sending` whose lease ran out: its sender died without a word
    uncertain_ids = delivery_ledger.uncertain(campaign, now)["user_id"]
    # of the customers the ledger has, which are held out, being sent or uncertain rather than already sent
    status = members["user_id"].map(ledger.drop_duplicates("user_id").set_index("user_id")["status"])
    listed = reasons.eq(ALREADY_SENT).to_numpy()
    reasons[listed & status.eq(HOLDOUT).to_numpy()] = HOLDOUT
    reasons[listed & status.eq("sending").to_numpy()] = BEING_SENT
    reasons[listed & members["user_id"].isin(uncertain_ids).to_numpy()] = UNCERTAIN
    quota = email_sender.quota()
    budget = daily_budget(delivery, quota, delivery_ledger, now)
    to_send = members[reasons.eq("").to_numpy()]
    if budget is not None:
        reasons[to_send.index[budget:]] = DAILY_CAP
        to_send = to_send.iloc[:budget]
    held = members[reasons.eq(HOLDOUT).to_numpy() & ~members["user_id"].isin(ledger["user_id"]).to_numpy()]
    rate = delivery.max_send_rate or quota.max_per_second
    context.log.info(
        f"campaign {campaign}, segment {context.partition_key}: {len(to_send):,} to send, {len(held):,} held out, "
        f"{int(reasons.eq(UNCERTAIN).sum()):,} uncertain; at most {rate or 'any number of'} a second, "
        f"{'any number' if budget is None else budget} more today"
    )
    if config.dry_run:
        table = _deliveries(members, reasons, SendOutcomes(), planned=True)
        return MaterializeResult(value=table, metadata=_metadata(table, campaign, SendOutcomes(), rate, dry_run=True))
    problems = sending_problems(brand, to_send["email"])
    if problems and (len(to_send) or config.resend_uncertain):
        raise SettingsError("refusing to send: " + "; ".join(problems))
    owner = sender_owner(context.run_id)
    record_campaign_picks(storage, campaign, context.partition_key, recommendations)
    if len(held):
        delivery_ledger.claim(
            campaign, held[["user_id", "email", "message_id"]].assign(status=HOLDOUT), owner, delivery.lease_seconds
        )
    options = dict(
        ledger=delivery_ledger,
        campaign=campaign,
        owner=owner,
        settings=delivery,
        from_address=parseaddr(brand.sender)[1],
        read_message=storage.read_bytes,
        limiter=RateLimiter(rate) if rate else None,
    )
    outcomes = SendOutcomes()
    with email_sender.session() as session:
        if config.resend_uncertain and reasons.eq(UNCERTAIN).any():
            taken = delivery_ledger.reclaim_uncertain(campaign, owner, delivery.lease_seconds, now)
            resend = resend_plan(taken, members, storage)
            outcomes = send_plan(resend, session=session, claimed=True, **options)
        outcomes = outcomes.merged(send_plan(to_send[PLAN_COLUMNS], session=session, **options))
    table = _deliveries(members, reasons, outcomes, planned=False)
    return MaterializeResult(value=table, metadata=_metadata(table, campaign, outcomes, rate, dry_run=False))


def daily_budget(delivery: DeliverySettings, quota: SendQuota, ledger: DeliveryLedger, now: float) -> int | None:
    """How many more messages may go today: the daily cap less what the ledger sent since midnight UTC, else the
    provider's 24-hour quota less what it counts as sent (the ledger's last 24 hours when it does not say); None
    when neither sets a limit."""
    if delivery.daily_cap is not None:
        midnight = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return max(delivery.daily_cap - len(ledger.mailed_since(midnight.timestamp())), 0)
    if quota.max_per_day is None:
        return None
    sent = quota.sent_last_day if quota.sent_last_day is not None else len(ledger.mailed_since(now - DAY_SECONDS))
    return max(quota.max_per_day - sent, 0)


def resend_plan(taken: pd.DataFrame, members: pd.DataFrame, storage: ObjectStore) -> pd.DataFrame:
    """PLAN_COLUMNS of the uncertain rows this sender took over: the address and Message-ID the ledger holds, the
    email of this segment's file, or of the one of another segment's folder for a customer who moved."""
    keys = members.set_index("user_id")["key"]
    elsewhere = taken.loc[~taken["user_id"].isin(keys.index), "user_id"]
    if len(elsewhere):
        names = email_filename(elsewhere)
        stored = pd.Series(storage.list_keys("emails/"), dtype="string")
        found = pd.Series(stored.to_numpy(), index=stored.str.rpartition("/")[2].to_numpy())
        keys = pd.concat([keys, pd.Series(found.reindex(names.to_numpy()).to_numpy(), index=elsewhere.to_numpy())])
    plan = taken.assign(key=keys.reindex(taken["user_id"]).to_numpy())
    return plan.dropna(subset=["key"])[PLAN_COLUMNS]


def _deliveries(members: pd.DataFrame, reasons: pd.Series, outcomes: SendOutcomes, planned: bool) -> pd.DataFrame:
    """DELIVERY_COLUMNS per customer of the segment: sent / failed (reason: the error) / holdout / skipped (reason),
    or, planned, `would send`; a customer another sender won in the ledger is skipped as `already sent`."""
    table = members.assign(status="skipped", reason=reasons.to_numpy())
    table.loc[table["reason"].eq(HOLDOUT), "status"] = HOLDOUT
    table.loc[table["reason"].eq(""), ["status", "reason"]] = ["would send" if planned else "skipped", ""]
    if not planned:
        table.loc[table["reason"].eq(""), "reason"] = ALREADY_SENT
        done = pd.DataFrame(outcomes.outcomes, columns=["user_id", "status", "reason"]).set_index("user_id")
        hit = table["user_id"].isin(done.index)
        table.loc[hit, ["status", "reason"]] = done.loc[table.loc[hit, "user_id"], ["status", "reason"]].to_numpy()
    return table[DELIVERY_COLUMNS].astype("string").sort_values("user_id", ignore_index=True)


def _metadata(table: pd.DataFrame, campaign: str, outcomes: SendOutcomes, rate: float | None, dry_run: bool) -> dict:
    status = table["status"]
    skipped = Counter(table.loc[status.eq("skipped"), "reason"])
    counts = {
        "sent": int(status.eq("sent").sum()),
        "would_send": int(status.eq("would send").sum()),
        "failed": int(status.eq("failed").sum()),
        "holdout": int(status.eq(HOLDOUT).sum()),
        "skipped": int(status.eq("skipped").sum()),
        "uncertain": skipped[UNCERTAIN],
    }
    return table_metadata(
        table,
        campaign=campaign,
        dry_run=dry_run,
        **counts,
        retries=outcomes.retries,
        messages_per_second=round(outcomes.per_second(), 2),
        max_send_rate=MetadataValue.text(f"{rate:g}" if rate else UNLIMITED),
        **({"skipped_reasons": share_table(pd.Series(skipped), "reason")} if skipped else {}),
        **{
            OUTCOME_COUNTS: MetadataValue.json(counts),
            SKIPPED_BY_REASON: MetadataValue.json(dict(skipped.most_common())),
            FAILED_BY_REASON: MetadataValue.json(dict(outcomes.failed.most_common())),
        },
    )


@asset(group_name=DELIVERY)
def delivery_notifications(
    context: AssetExecutionContext,
    storage: ObjectStore,
    settings: PipelineSettings,
    profiles: ProfileStore,
    delivery: DeliverySettings,
) -> MaterializeResult:
    """SES bounce and complaint notifications (the SQS queue's, and JSON files in the inbox) added to the profile
    store's suppression list: permanent bounces and complaints only; the queue's messages are deleted once added."""
    notifications, sources = [], Counter()
    for stored in storage.list_inputs(settings.input_location):
        if stored.key.lower().endswith(NOTIFICATION_SUFFIX):
            found = parse_notifications(storage.read_bytes(stored.key).decode("utf-8"), storage.location(stored.key))
            notifications += found
            sources["inbox files"] += len(found)
    receipts = []
    if delivery.notification_queue_url:
        sqs = aws_client("sqs")
        while batch := sqs.receive_message(
            QueueUrl=delivery.notification_queue_url, MaxNumberOfMessages=SQS_BATCH, WaitTimeSeconds=SQS_WAIT_SECONDS
        ).get("Messages", []):
            for message in batch:
                found = parse_notifications(
                    message["Body"], f"{delivery.notification_queue_url} {message['MessageId']}"
                )
                notifications += found
                sources["queue"] += len(found)
                receipts.append(message["ReceiptHandle"])
    table = notification_suppressions(notifications)
    if len(table):
        profiles.add_suppressions(table[list(NOTIFICATION_COLUMNS)])
    for start in range(0, len(receipts), SQS_BATCH):
        entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts[start : start + SQS_BATCH])]
        sqs.delete_message_batch(QueueUrl=delivery.notification_queue_url, Entries=entries)
    context.log.info(f"{len(notifications):,} notifications read, {len(table):,} addresses suppressed")
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            notifications=len(notifications),
            suppressed_addresses=len(table),
            **({"reasons": share_table(table["reason"].value_counts(), "reason")} if len(table) else {}),
            sources=MetadataValue.json(dict(sources)),
        ),
    )


def campaign_picks_key(campaign: str, segment: str) -> str:
    """Where the products a campaign showed a segment's customers are kept (USER_ID, ITEM_ID)."""
    return f"campaigns/{campaign}/{segment}.parquet"


def record_campaign_picks(storage: ObjectStore, campaign: str, segment: str, recommendations: pd.DataFrame) -> None:
    """Keep what the campaign's emails (or, held out, would have) showed each customer, as at their first send: a
    later send of the campaign adds only customers it had not seen, so results compare against what was shown."""
    key = campaign_picks_key(campaign, segment)
    shown = recommendations[["USER_ID", "ITEM_ID"]].astype("string")
    if storage.exists(key):
        kept = storage.read_parquet(key)
        shown = pd.concat([kept, shown[~shown["USER_ID"].isin(kept["USER_ID"])]], ignore_index=True)
    storage.write_parquet(key, shown)


@asset(group_name=DELIVERY)
def campaign_results(
    interactions: pd.DataFrame,
    storage: ObjectStore,
    delivery_ledger: DeliveryLedger,
    delivery: DeliverySettings,
) -> MaterializeResult:
    """The campaign's conversion, of the products its emails showed and of any product, among mailed customers against
    the holdout, in the interactions after the send: lift with a 95% interval, and a plain verdict."""
    campaign = delivery.campaign_id()
    ledger = delivery_ledger.rows(campaign)
    sent_at = pd.to_numeric(ledger.loc[ledger["status"].eq("sent"), "sent_at"], errors="coerce").min()
    if pd.isna(sent_at):
        return MaterializeResult(
            value=pd.DataFrame(),
            metadata={"campaign": campaign, "verdict": MetadataValue.text(f"campaign {campaign} sent no email yet")},
        )
    # the products the emails showed (recorded at send time), not today's recommendations
    shown = [storage.read_parquet(key) for key in storage.list_keys(f"campaigns/{campaign}/")]
    recommended = pd.concat([pd.DataFrame(columns=["USER_ID", "ITEM_ID"]), *shown])
    table = campaign_lift(ledger, interactions, recommended, int(sent_at), delivery.results_window_days)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            campaign=campaign,
            verdict=MetadataValue.text("; ".join(f"{m}: {v}" for m, v in zip(table["measure"], table["verdict"]))),
        ),
    )
