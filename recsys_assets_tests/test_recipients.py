"""Who may be written to: an address, consent and no suppression; everyone else counted by reason."""

import email
import json
from email.headerregistry import Address
from email.policy import default

import pandas as pd
import pytest
from dagster import DagsterInstance, build_asset_context
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_assets.cli.run import format_summary, run_pipeline
from recsys_assets.defs.marketing.recipients import suppressions
from recsys_assets.defs.partitions import raw_files
from recsys_assets.emails.recipients import (
    example_domains,
    normalized_addresses,
    recipient_reasons,
    valid_addresses,
)
from recsys_assets.emails.render import email_filename
from recsys_assets.environment import RunOptions
from recsys_assets.formats.tables import SUPPRESSION_COLUMNS, empty_table
from recsys_assets.resources.dynamodb import DynamoDBProfileStore
from recsys_assets.resources.profile_store import SqliteProfileStore

from .conftest import addressed_folder, addresses_of

NONE = empty_table(SUPPRESSION_COLUMNS)


def customer(email: str = "asha@shop.in", consent: str = "opted_in", user_id: str = "u1") -> pd.DataFrame:
    return pd.DataFrame({"user_id": [user_id], "email": [email], "consent": [consent]}, dtype="string")


def suppressed(email: str = "", user_id: str = "") -> pd.DataFrame:
    return pd.DataFrame(
        {"email": [email], "user_id": [user_id], "reason": ["complaint"], "source_file": ["stop.csv"], "source_line": 2}
    ).astype({"email": "string", "user_id": "string", "reason": "string", "source_file": "string"})


def reason(users: pd.DataFrame, suppressions: pd.DataFrame = NONE, rule: str = "opted-in") -> str:
    return recipient_reasons(users, suppressions, rule)["reason"].iloc[0]


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (customer(), ""),
        (customer(email=""), "no address"),
        (customer(email="   "), "no address"),
        (customer(email="asha"), "invalid address"),
        (customer(consent="unsubscribed"), "unsubscribed"),
        (customer(consent=""), "no consent"),
        (customer(email="", consent="unsubscribed"), "no address"),  # the first reason that applies
    ],
)
def test_each_reason_on_one_customer(users, expected):
    assert reason(users) == expected


def test_the_soft_opt_in_takes_an_unknown_consent_but_never_an_unsubscribe():
    assert reason(customer(consent=""), rule="not-unsubscribed") == ""
    assert reason(customer(consent="unsubscribed"), rule="not-unsubscribed") == "unsubscribed"
    with pytest.raises(ValueError, match="consent rule 'anyone'"):
        reason(customer(), rule="anyone")


@pytest.mark.parametrize("rule", ["opted-in", "not-unsubscribed"])
def test_a_suppression_wins_over_consent_by_email_in_any_case_or_by_user_id(rule):
    assert reason(customer(email=" Asha@Shop.IN "), suppressed(email="ASHA@shop.in"), rule) == "suppressed"
    assert reason(customer(), suppressed(user_id="u1"), rule) == "suppressed"
    assert reason(customer(), suppressed(user_id="u2"), rule) == ""
    assert reason(customer(), suppressed(email="other@shop.in"), rule) == ""


def test_the_address_is_stripped_with_its_domain_in_lower_case_and_its_local_part_as_it_is():
    table = recipient_reasons(customer(email="  Asha.K@Mail.Shop.IN\n"), NONE)
    assert table.to_dict("records") == [{"user_id": "u1", "email": "Asha.K@mail.shop.in", "reason": ""}]
    assert normalized_addresses(pd.Series([None, "a@B@C.com", "x"])).tolist() == ["", "a@B@c.com", "x"]


@pytest.mark.parametrize(
    "address",
    [
        "Asha <asha@shop.in>",  # a display name
        "asha@shop.in, eve@evil.com",  # two addresses
        "asha@shop.in\r\nBcc: eve@evil.com",  # a header
        "asha@shop.in\nx",
        "asha@@shop.in",
        "asha@shop@evil.com",
        "asha@localhost",  # no dot in the domain
        "asha@shop.in.",
        "asha.@shop.in",
        "as..ha@shop.in",
        "as ha@shop.in",
        '"as ha"@shop.in',  # a quoted local part
        "asha(comment)@shop.in",
        "asha@[10.0.0.1]",  # an address literal
        "asha@-shop.in",
        "asha@shop.123",
        "josé@shop.in",  # not ASCII: the packaging writes ASCII addresses only
        "asha@shop\x00.in",
        "a" * 65 + "@shop.in",
        "asha@" + "d" * 250 + ".in",
        "@shop.in",
        "asha@",
    ],
)
def test_an_address_that_is_not_one_plain_addr_spec_is_invalid(address):
    assert not valid_addresses(pd.Series([address])).iloc[0]
    assert reason(customer(email=address)) == "invalid address"


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.emails())
def test_every_address_taken_is_one_the_email_package_parses_to_itself(address):
    if valid_addresses(pd.Series([address])).iloc[0]:
        parsed = Address(addr_spec=address)
        assert parsed.addr_spec == address and not parsed.display_name
        assert email.message_from_string(f"To: {address}\n\n", policy=default)["To"].addresses == (parsed,)


def test_plain_addresses_of_every_shape_are_taken():
    addresses = ["a@b.co", "first.last+tag@mail.shop.co.uk", "o'neil@xn--mnchen-3ya.de", "u_1-x@a-b.example"]
    assert valid_addresses(pd.Series(addresses)).all()


def test_demo_addresses_are_those_at_the_domains_rfc_2606_reserves():
    addresses = ["a@customers.example", "a@EXAMPLE.com", "a@x.test", "a@b.localhost", "a@myexample.com", "a@shop.in"]
    assert example_domains(pd.Series(addresses)).tolist() == [True, True, True, True, False, False]


# --- the suppression list: inbox files and the profile store ------------------------------------------------------


def test_the_profile_store_keeps_a_suppression_list_one_row_per_address_and_customer(tmp_path):
    store = SqliteProfileStore(path=str(tmp_path / "p.sqlite"))
    assert store.suppressions().empty
    entries = pd.DataFrame({"email": [" Eve@Mail.COM ", ""], "user_id": ["u7", "u8"], "reason": ["complaint", "gdpr"]})
    assert store.add_suppressions(entries) == 3
    assert store.add_suppressions(entries.iloc[[1]].assign(reason="bounce")) == 3  # the same entry is replaced
    listed = store.suppressions().sort_values(["email", "user_id"], ignore_index=True)
    assert listed[["email", "user_id", "reason"]].values.tolist() == [
        ["", "u7", "complaint"],
        ["", "u8", "bounce"],
        ["eve@mail.com", "", "complaint"],
    ]
    assert listed["source_file"].str.endswith("p.sqlite#suppressions").all() and listed["source_line"].eq(0).all()
    with pytest.raises(ValueError, match="1 suppression entries have neither"):
        store.add_suppressions(pd.DataFrame({"email": [""], "user_id": [" "], "reason": [""]}))


def test_dynamodb_keeps_the_suppression_list_and_cleanup_leaves_it(aws):
    store = DynamoDBProfileStore(table_prefix="t_", region="us-east-1", retry_base_seconds=0)
    assert store.suppressions().empty
    store.add_suppressions(pd.DataFrame({"email": ["Eve@Mail.com"], "user_id": ["u7"], "reason": ["complaint"]}))
    store.replace_table("users", pd.DataFrame({"user_id": ["u7"], "user_name": ["Eve"]}))
    listed = store.suppressions().sort_values("email", ignore_index=True)
    assert listed[["email", "user_id", "reason", "source_file"]].values.tolist() == [
        ["", "u7", "complaint", "dynamodb:t_suppressions"],
        ["eve@mail.com", "", "complaint", "dynamodb:t_suppressions"],
    ]
    assert store.delete_tables() == ["dynamodb table t_users"]
    assert len(store.suppressions()) == 2


def test_the_suppressions_asset_lists_every_files_and_then_the_profile_stores(tmp_path):
    store = SqliteProfileStore(path=str(tmp_path / "p.sqlite"))
    store.add_suppressions(pd.DataFrame({"email": [""], "user_id": ["u9"], "reason": ["gdpr"]}))
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(raw_files.name, ["b.csv", "a.csv"])
        context = build_asset_context(instance=instance)
        files = {"a.csv": suppressed(user_id="u2"), "b.csv": suppressed(email="Eve@Mail.com")}
        result = suppressions(context, files, store)
    assert result.value[["email", "user_id", "source_file"]].values.tolist() == [
        ["Eve@Mail.com", "", "stop.csv"],
        ["", "u2", "stop.csv"],
        ["", "u9", store.table_location("suppressions")],
    ]
    assert (result.metadata["suppressed_addresses"], result.metadata["suppressed_customers"]) == (1, 2)
    assert all(check.passed for check in result.check_results)


# --- the graph --------------------------------------------------------------------------------------------------


def with_reasons(users: pd.DataFrame) -> pd.DataFrame:
    """A users file's first six customers: unsubscribed, no address, an invalid one, no consent, suppressed (twice;
    the fifth's address is written in upper case, and suppressed in lower case)."""
    users = users.sort_values("USER_ID", ignore_index=True)
    users.loc[0, "CONSENT"] = "unsubscribed"
    users.loc[1, "EMAIL"] = ""
    users.loc[2, "EMAIL"] = "not an address"
    users.loc[3, "CONSENT"] = ""
    users.loc[4, "EMAIL"] = users.loc[4, "EMAIL"].upper()  # suppressed by address, in another case
    return users


def test_only_customers_who_may_be_written_to_get_an_email_each_at_their_own_address(tmp_path, sample_csv, capsys):
    home = tmp_path / "home"
    inbox, users = addressed_folder(tmp_path / "inbox", sample_csv, change=with_reasons)
    profiles = SqliteProfileStore(path=str(home / "profiles.sqlite"))
    profiles.add_suppressions(pd.DataFrame({"email": [users.loc[4, "EMAIL"].lower(), ""], "user_id": ["", "x"]}))
    profiles.add_suppressions(pd.DataFrame({"email": [""], "user_id": [users.loc[5, "USER_ID"]], "reason": ["gdpr"]}))
    summary = run_pipeline(RunOptions(home=str(home), input_location=str(inbox), num_results=3))

    recipients = pd.read_parquet(home / "assets" / "recipients.parquet").sort_values("user_id", ignore_index=True)
    assert recipients["reason"].head(7).tolist() == [
        "unsubscribed",
        "no address",
        "invalid address",
        "no consent",
        "suppressed",
        "suppressed",
        "",
    ]
    mailable = recipients.loc[recipients["reason"] == "", "user_id"]
    files = {p.name: p for p in (home / "emails").glob("*/*.eml")}
    assert sorted(files) == sorted(email_filename(mailable))  # the unsubscribed customer and the others get none
    own = dict(zip(email_filename(mailable), addresses_of(users).loc[mailable]))
    for name, path in files.items():
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert [a.addr_spec for a in message["To"].addresses] == [own[name]]

    assert summary["emails_written"] == len(mailable) and summary["emails_skipped"] == 6
    assert list(summary["skipped_reasons"].items()) == [
        ("suppressed", 2),
        ("no address", 1),
        ("invalid address", 1),
        ("unsubscribed", 1),
        ("no consent", 1),
    ]
    assert summary["demo_addresses"] == len(mailable)  # customers.example
    assert json.loads((home / "run_summary.json").read_text())["skipped_reasons"] == summary["skipped_reasons"]
    text = format_summary(summary)
    assert (
        "6 customers got no email: 2 suppressed, 1 no address, 1 invalid address, 1 unsubscribed, 1 no consent" in text
    )
    assert f"{len(mailable)} addresses are at example domains (RFC 2606): demo addresses" in text


def test_customer_ids_sharing_an_address_get_one_email_and_an_unsubscribe_holds_for_the_address():
    users = pd.DataFrame(
        {
            "user_id": ["guest-7", "acct-1", "acct-2", "acct-3", "acct-4"],
            "email": ["Ann@Shop.com", "ann@shop.com", "bo@shop.com", "bo@SHOP.com", "cy@shop.com"],
            "consent": ["opted_in", "opted_in", "opted_in", "opted_in", "unsubscribed"],
        }
    )
    also_cy = pd.DataFrame({"user_id": ["guest-9"], "email": ["CY@shop.com"], "consent": ["opted_in"]})
    no_suppressions = pd.DataFrame({"email": pd.Series([], dtype="string"), "user_id": pd.Series([], dtype="string")})
    reasons = recipient_reasons(pd.concat([users, also_cy]), no_suppressions).set_index("user_id")["reason"]
    assert reasons.to_dict() == {
        "guest-7": "address of another customer",  # acct-1 < guest-7: the smallest id gets the email
        "acct-1": "",
        "acct-2": "",
        "acct-3": "address of another customer",
        "acct-4": "unsubscribed",
        "guest-9": "suppressed",  # cy@shop.com unsubscribed under acct-4
    }
