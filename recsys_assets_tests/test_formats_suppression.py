"""Suppression lists: addresses and customers never written to."""

import pytest

from recsys_assets.catalog.reading import InputFileError
from recsys_assets.formats.reading import read_input
from recsys_assets.formats.suppression import read_suppression
from recsys_assets.formats.tables import SUPPRESSION_COLUMNS


def read(text: str):
    return read_suppression(text.encode(), "s.csv")


def test_emails_are_lower_cased_and_stripped_and_the_reason_defaults_to_suppressed():
    tables = read("EMAIL,USER_ID,REASON\n Ann.Lee@Shop.Example ,,bounced\n,u7,\n")
    assert tables.format == "suppression" and list(tables.suppressions.columns) == list(SUPPRESSION_COLUMNS)
    assert tables.suppressions.values.tolist() == [
        ["ann.lee@shop.example", "", "bounced", "s.csv", 2],
        ["", "u7", "suppressed", "s.csv", 3],
    ]


def test_a_list_of_customers_alone_is_read():
    assert read("USER_ID\nu1\n").suppressions[["email", "user_id"]].values.tolist() == [["", "u1"]]


def test_a_row_with_neither_email_nor_user_id_is_quarantined_with_line_and_column():
    tables = read("EMAIL,USER_ID,REASON\na@shop.example,,\n,,complaint\n")
    assert tables.suppressions["email"].tolist() == ["a@shop.example"]
    assert tables.rejected[["source_line", "column", "reason"]].values.tolist() == [[3, "EMAIL", "no EMAIL or USER_ID"]]


def test_a_user_id_longer_than_the_id_limit_is_quarantined():
    tables = read(f"USER_ID\nu1\n{'u' * 257}\n")
    assert tables.rejected[["source_line", "column", "reason"]].values.tolist() == [
        [3, "USER_ID", "USER_ID longer than 256 characters"]
    ]


def test_a_repeated_entry_keeps_its_last_row():
    suppressions = read("EMAIL,REASON\na@shop.example,bounced\nA@shop.example,complaint\n").suppressions
    assert suppressions[["email", "reason", "source_line"]].values.tolist() == [["a@shop.example", "complaint", 3]]


def test_a_file_without_email_or_user_id_is_not_a_suppression_list():
    with pytest.raises(InputFileError, match="^s.csv: not a suppression list: required columns missing"):
        read("REASON\nbounced\n")


def test_a_suppression_list_is_detected_from_its_header_in_any_case():
    tables = read_input(b"email,reason\nA@shop.example,\n", "dnc.csv")
    assert tables.format == "suppression" and tables.suppressions["email"].tolist() == ["a@shop.example"]
