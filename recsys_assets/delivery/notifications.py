"""Amazon SES bounce and complaint notifications: which addresses no campaign may write to again.

A notification is SES's JSON (`notificationType` from an SNS topic, `eventType` from a configuration set's event
destination), as an SQS message body, inside an SNS envelope (`"Type": "Notification"`, the JSON in `Message`), or
in a file holding one notification, a list of them, or one per line.
"""

from __future__ import annotations

import json

import pandas as pd

PERMANENT_BOUNCE = "bounced (permanent)"
COMPLAINT = "complained"
NOTIFICATION_COLUMNS = ("email", "user_id", "reason")


def parse_notifications(text: str, source: str) -> list[dict]:
    """The notifications of one SQS body or file: a JSON object, a list of them, or one object per line; an
    SNS envelope is opened. A line that is not JSON is a ValueError naming the source and line."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        documents = [json.loads(stripped)]
    except json.JSONDecodeError:
        documents = []
        for number, line in enumerate(stripped.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{source}: line {number}, column {error.colno}: not JSON ({error.msg})") from None
    flat = [item for document in documents for item in (document if isinstance(document, list) else [document])]
    return [_opened(item, source) for item in flat if isinstance(item, dict)]


def _opened(document: dict, source: str) -> dict:
    if document.get("Type") != "Notification" or not isinstance(document.get("Message"), str):
        return document
    try:
        inner = json.loads(document["Message"])
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: an SNS notification whose Message is not JSON ({error.msg})") from None
    return inner if isinstance(inner, dict) else {}


def notification_suppressions(notifications: list[dict]) -> pd.DataFrame:
    """NOTIFICATION_COLUMNS of every permanently bounced or complaining recipient (transient bounces, deliveries
    and other events are left out); an address appears once, with the first reason seen."""
    rows = []
    for notification in notifications:
        kind = notification.get("notificationType") or notification.get("eventType")
        if kind == "Bounce" and notification.get("bounce", {}).get("bounceType") == "Permanent":
            recipients, reason = notification["bounce"].get("bouncedRecipients", []), PERMANENT_BOUNCE
        elif kind == "Complaint":
            recipients, reason = notification.get("complaint", {}).get("complainedRecipients", []), COMPLAINT
        else:
            continue
        rows += [(r["emailAddress"], "", reason) for r in recipients if isinstance(r, dict) and r.get("emailAddress")]
    table = pd.DataFrame(rows, columns=list(NOTIFICATION_COLUMNS), dtype="string")
    table["email"] = table["email"].str.strip().str.lower()
    return table.drop_duplicates("email", ignore_index=True)
