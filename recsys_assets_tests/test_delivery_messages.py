"""A campaign's ids and messages, and SES notifications read into suppressions."""

from datetime import datetime, timezone

import pandas as pd
import pytest

from recsys_assets.delivery.messages import (
    campaign_members,
    default_campaign,
    message_ids,
    sending_problems,
    with_message_id,
)
from recsys_assets.delivery.notifications import notification_suppressions, parse_notifications
from recsys_assets.emails.frame import Brand


def test_the_default_campaign_is_the_iso_weeks():
    assert default_campaign(datetime(2026, 12, 8, tzinfo=timezone.utc)) == "2026-W50-weekly"
    assert default_campaign(datetime(2027, 1, 1, tzinfo=timezone.utc)) == "2026-W53-weekly"


def test_a_message_id_is_the_same_for_a_campaign_and_customer_and_differs_otherwise():
    ids = pd.Series(["u1", "u2"])
    first, again, other = (message_ids(c, ids, "Shop.Net") for c in ("c1", "c1", "c2"))
    assert first.equals(again) and not (first == other).any() and first[0] != first[1]
    assert first[0].startswith("<") and first[0].endswith("@shop.net>")


def test_the_message_id_header_is_replaced_in_the_header_block_only_or_added():
    eml = b"From: a@b.net\nMessage-ID: <old@b.net>\nSubject: x\n\nMessage-ID: <body@b.net>\n"
    assert with_message_id(eml, "<new@b.net>") == eml.replace(b"<old@b.net>", b"<new@b.net>")
    added = with_message_id(b"From: a@b.net\n\nhi\n", "<new@b.net>")
    assert added == b"From: a@b.net\nMessage-ID: <new@b.net>\n\nhi\n"


def test_demo_values_and_example_domains_are_named_by_their_setting():
    problems = " ".join(sending_problems(Brand(), pd.Series(["a@customers.example", "b@real.net"])))
    for setting in ("RECSYS_POSTAL_ADDRESS", "RECSYS_UNSUBSCRIBE_SECRET", "RECSYS_FROM", "RECSYS_UNSUBSCRIBE_URL"):
        assert setting in problems
    assert "1 recipients are at example domains" in problems


def test_a_customer_suppressed_since_the_recipients_were_made_is_suppressed_now():
    emails = pd.DataFrame(
        {"user_id": ["u1", "u2", "u3"], "key": ["k1", "k2", ""], "status": ["written"] * 2 + ["failed"]}
    )
    recipients = pd.DataFrame({"user_id": ["u1", "u2"], "email": ["A@x.net", "b@x.net"], "reason": ["", ""]})
    suppressions = pd.DataFrame({"email": ["a@x.net"], "user_id": [""]})
    members = campaign_members(emails, recipients, suppressions)
    assert members["reason"].tolist() == ["suppressed", ""] and members["key"].tolist() == ["k1", "k2"]


def test_permanent_bounces_and_complaints_suppress_and_other_notifications_do_not():
    text = "\n".join(
        [
            '{"Type": "Notification", "Message": "{\\"notificationType\\": \\"Bounce\\", \\"bounce\\": '
            '{\\"bounceType\\": \\"Permanent\\", \\"bouncedRecipients\\": [{\\"emailAddress\\": \\"A@x.net\\"}]}}"}',
            '{"eventType": "Bounce", "bounce": {"bounceType": "Transient", '
            '"bouncedRecipients": [{"emailAddress": "t@x.net"}]}}',
            '{"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "c@x.net"}]}}',
            '{"eventType": "Delivery", "delivery": {"recipients": ["d@x.net"]}}',
        ]
    )
    table = notification_suppressions(parse_notifications(text, "n.json"))
    assert table.to_dict("list") == {
        "email": ["a@x.net", "c@x.net"],
        "user_id": ["", ""],
        "reason": ["bounced (permanent)", "complained"],
    }


def test_a_notification_file_line_that_is_not_json_names_the_file_and_line():
    with pytest.raises(ValueError, match="n.json: line 2, column 1"):
        parse_notifications('{"eventType": "Delivery"}\nnot json\n', "n.json")
