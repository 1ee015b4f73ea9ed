import csv
import io
import json

import pandas as pd
import pytest

from recsys_assets.catalog.fields import parse_number
from recsys_assets.catalog.reading import REQUIRED_COLUMNS, InputFileError, parse_catalog_csv
from recsys_assets.catalog.tables import build_products, build_users, explode_reviews


def product_row(**overrides) -> dict:
    row = {
        "product_id": "B0001",
        "product_name": "USB Cable",
        "category": "Computers&Accessories|Cables|USBCables",
        "discounted_price": "₹399",
        "actual_price": "₹1,099",
        "discount_percentage": "64%",
        "rating": "4.2",
        "rating_count": "24,269",
        "about_product": "Fast|Durable",
        "user_id": "U1,U2",
        "user_name": "Asha,Ravi",
        "review_id": "R1,R2",
        "review_title": "Great cable,Stopped working",
        "review_content": "Charges fast, works well,Broke after a week, sadly",
        "img_link": "https://img.example/1.jpg",
        "product_link": "https://shop.example/dp/B0001",
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], columns=REQUIRED_COLUMNS, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def test_prices_percentages_and_counts_are_parsed_from_their_display_forms():
    values = pd.Series(
        ["₹1,099", "64%", "24,269", "4.2", "₹ 399", "₹1,00,000", "", "|", "1.099,00", "12,34"], dtype="string"
    )
    parsed = parse_number(values)
    assert parsed.iloc[:6].tolist() == [1099.0, 64.0, 24269.0, 4.2, 399.0, 100000.0]
    assert parsed.iloc[6:].isna().all()


def test_a_utf8_file_with_bom_reads_and_keeps_source_lines():
    parsed = parse_catalog_csv(csv_bytes([product_row(), product_row(product_id="B0002")], bom=True), "in.csv")
    assert parsed.rows["product_id"].tolist() == ["B0001", "B0002"]
    assert parsed.rows["source_line"].tolist() == [2, 3]
    assert parsed.rows["source_file"].unique().tolist() == ["in.csv"]
    assert parsed.rejected.empty


def test_source_lines_count_newlines_inside_quoted_fields():
    rows = [product_row(about_product="line one\nline two"), product_row(product_id="B0002")]
    parsed = parse_catalog_csv(csv_bytes(rows), "in.csv")
    assert parsed.rows["source_line"].tolist() == [2, 4]


def test_invalid_utf8_names_the_file_and_line():
    data = csv_bytes([product_row()]).replace(b"Asha", b"\xe9sha")
    with pytest.raises(InputFileError, match=r"in\.csv: line 2, column 109: byte 0xe9 is not UTF-8"):
        parse_catalog_csv(data, "in.csv")


def test_invalid_utf8_after_a_bom_names_its_own_line_and_column():
    data = b"\xef\xbb\xbf" + csv_bytes([product_row()]).replace(b"Asha", b"A\xffsha")
    with pytest.raises(InputFileError, match=r"in\.csv: line 2, column \d+: byte 0xff is not UTF-8"):
        parse_catalog_csv(data, "in.csv")


def test_invalid_utf8_is_read_with_an_explicit_fallback_encoding():
    data = csv_bytes([product_row()]).replace(b"Asha", b"\xe9sha")
    parsed = parse_catalog_csv(data, "in.csv", fallback_encoding="cp1252")
    assert parsed.rows["user_name"].iloc[0] == "ésha,Ravi"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"product_id;product_name\nB1;x\n", "required columns missing: .*is the delimiter a comma"),
        (",".join(REQUIRED_COLUMNS).encode() + b"\n", "the file has a header but no rows"),
    ],
)
def test_file_level_faults_stop_with_the_file_named(data, message):
    with pytest.raises(InputFileError, match=rf"^in\.csv: {message}"):
        parse_catalog_csv(data, "in.csv")


def test_missing_columns_are_named():
    columns = [c for c in REQUIRED_COLUMNS if c not in ("rating", "user_id")]
    data = csv_bytes([{k: v for k, v in product_row().items() if k in columns}], columns=columns)
    with pytest.raises(InputFileError, match="required columns missing: rating, user_id$"):
        parse_catalog_csv(data, "in.csv")


def test_bad_rows_are_quarantined_with_line_column_and_reason_and_the_rest_kept():
    rows = [
        product_row(),
        product_row(product_id="B0002", rating="|"),
        product_row(product_id="B0003", discounted_price="₹abc"),
        product_row(product_id="", review_id="R9,R8"),
        product_row(product_id="B0005", review_id="R7"),
        product_row(product_id="B0006", rating="7.5"),
    ]
    parsed = parse_catalog_csv(csv_bytes(rows), "in.csv")
    assert parsed.rows["product_id"].tolist() == ["B0001"]
    rejected = parsed.rejected.sort_values("source_line")
    assert rejected[["source_line", "column", "reason"]].values.tolist() == [
        [3, "rating", "rating is not a number"],
        [4, "discounted_price", "discounted_price is not a number"],
        [5, "product_id", "missing product_id"],
        [6, "review_id", "review_id and user_id lists differ in length"],
        [7, "rating", "rating out of range"],
    ]
    assert json.loads(rejected["raw_row"].iloc[0])["rating"] == "|"


def test_a_row_with_the_wrong_number_of_fields_is_quarantined():
    data = csv_bytes([product_row()]) + b"B0009,only,three\n"
    parsed = parse_catalog_csv(data, "in.csv")
    assert len(parsed.rows) == 1
    assert parsed.rejected[["source_line", "reason"]].values.tolist() == [[3, "expected 16 fields, found 3"]]


@pytest.mark.parametrize("later_id", [None, " B0001 "])  # None: the same id; else the same id padded with spaces
def test_duplicate_product_rows_merge_into_one_product_with_the_later_values(later_id):
    later = product_row(discounted_price="₹350", **({"product_id": later_id} if later_id else {}))
    parsed = parse_catalog_csv(csv_bytes([product_row(), later]), "in.csv")
    products = build_products(parsed.rows)
    assert products["product_id"].tolist() == ["B0001"]
    assert len(products) == 1
    row = products.iloc[0]
    assert (row.discounted_price, row.actual_price, row.discount_percentage, row.rating, row.rating_count) == (
        350.0,
        1099.0,
        64.0,
        4.2,
        24269,
    )
    assert (row.top_category, row.leaf_category, row.category_depth) == ("Computers&Accessories", "USBCables", 3)


def test_reviews_get_their_own_text_when_the_lists_align():
    parsed = parse_catalog_csv(csv_bytes([product_row()]), "in.csv")
    reviews = explode_reviews(parsed.rows)
    assert reviews[["user_id", "review_id", "user_name", "review_title", "review_content"]].values.tolist() == [
        ["U1", "R1", "Asha", "Great cable", "Charges fast, works well"],
        ["U2", "R2", "Ravi", "Stopped working", "Broke after a week, sadly"],
    ]
    assert reviews["text_aligned"].all()


def test_commas_inside_numbers_do_not_break_the_alignment():
    row = product_row(review_content="Worth ₹1,099,Not worth it")
    reviews = explode_reviews(parse_catalog_csv(csv_bytes([row]), "in.csv").rows)
    assert reviews["review_content"].tolist() == ["Worth ₹1,099", "Not worth it"]


def test_reviews_with_mismatched_lists_fall_back_to_product_text():
    row = product_row(review_content="Good,great,and cheap")
    reviews = explode_reviews(parse_catalog_csv(csv_bytes([row]), "in.csv").rows)
    assert reviews["review_content"].tolist() == ["Good,great,and cheap"] * 2
    assert reviews["review_title"].tolist() == ["Great cable", "Stopped working"]
    assert not reviews["text_aligned"].any()


def test_the_same_review_listed_twice_for_a_product_is_one_review():
    rows = [product_row(), product_row()]
    reviews = explode_reviews(parse_catalog_csv(csv_bytes(rows), "in.csv").rows)
    assert len(reviews) == 2


def test_timestamps_are_deterministic_from_file_position_without_a_timestamp_column():
    parsed = parse_catalog_csv(csv_bytes([product_row()]), "in.csv")
    first = explode_reviews(parsed.rows, base_epoch=1_000_000)
    assert first["timestamp"].tolist() == [1_000_000 + 2 * 60, 1_000_000 + 2 * 60 + 1]
    assert first.equals(explode_reviews(parsed.rows, base_epoch=1_000_000))


def test_an_optional_timestamp_list_is_used_per_reviewer():
    columns = [*REQUIRED_COLUMNS, "timestamp", "age"]
    row = product_row(timestamp="1700000000,1700000500", age="31")
    parsed = parse_catalog_csv(csv_bytes([row], columns=columns), "in.csv")
    reviews = explode_reviews(parsed.rows)
    assert reviews["timestamp"].tolist() == [1_700_000_000, 1_700_000_500]
    users = build_users(reviews, build_products(parsed.rows), parsed.rows)
    assert users["age"].tolist() == [31, 31]


def test_timestamps_and_ages_given_for_some_reviewers_leave_the_others_derived_and_unknown():
    columns = [*REQUIRED_COLUMNS, "timestamp", "age"]
    parsed = parse_catalog_csv(csv_bytes([product_row(timestamp="1700000000,", age=",41")], columns=columns), "in.csv")
    reviews = explode_reviews(parsed.rows, base_epoch=1_000_000)
    assert reviews["timestamp"].tolist() == [1_700_000_000, 1_000_000 + 2 * 60 + 1]
    users = build_users(reviews, build_products(parsed.rows), parsed.rows)
    assert users["age"].tolist() == [pd.NA, 41]


def test_ids_that_differ_in_case_or_script_are_different_customers_and_padding_is_not_part_of_an_id():
    rows = [product_row(user_id="José,u1", age="30,31"), product_row(product_id=" B0002 ", user_id=" U1 ,U2", age="32")]
    parsed = parse_catalog_csv(csv_bytes(rows, columns=[*REQUIRED_COLUMNS, "age"]), "in.csv")
    reviews = explode_reviews(parsed.rows)
    assert reviews[["user_id", "product_id"]].values.tolist() == [
        ["José", "B0001"],
        ["U1", "B0002"],
        ["U2", "B0002"],
        ["u1", "B0001"],
    ]
    users = build_users(reviews, build_products(parsed.rows), parsed.rows)
    assert users[["user_id", "age"]].values.tolist() == [["José", 30], ["U1", 32], ["U2", 32], ["u1", 31]]


def test_users_have_name_review_count_and_favourite_category():
    rows = [
        product_row(),
        product_row(
            product_id="B0002",
            category="Home&Kitchen|Kitchen",
            user_id="U1",
            user_name="Asha",
            review_id="R3",
            review_title="Nice",
            review_content="Nice pan",
        ),
        product_row(
            product_id="B0003",
            category="Home&Kitchen|Decor",
            user_id="U1",
            user_name="Asha",
            review_id="R4",
            review_title="Pretty",
            review_content="Pretty vase",
        ),
    ]
    parsed = parse_catalog_csv(csv_bytes(rows), "in.csv")
    reviews = explode_reviews(parsed.rows)
    users = build_users(reviews, build_products(parsed.rows))
    assert users.values.tolist() == [
        ["U1", "Asha", "", "", 3, "Home&Kitchen"],  # the export has no address and no consent
        ["U2", "Ravi", "", "", 1, "Computers&Accessories"],
    ]


def test_only_the_lines_that_are_not_utf8_use_the_fallback_and_they_are_reported():
    data = csv_bytes([product_row(), product_row(product_id="B0002")]).replace(b"Asha", b"\xe9sha", 1)
    parsed = parse_catalog_csv(data, "in.csv", fallback_encoding="cp1252")
    assert parsed.fallback_lines == [2]
    assert parsed.rows["discounted_price"].tolist() == ["₹399", "₹399"]
