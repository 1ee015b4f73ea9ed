"""Write the bad-input corpus: one small file per fault (`python make_bad_files.py` in this folder).

Each file is a valid catalog header plus a good row (line 2) and, for row-level faults, the bad row
(line 3), so the expected outcome is one quarantined line; file-level faults break the whole file.
The size faults are sized for LIMITS (small, so the corpus stays small); test_bad_input.py reads
the corpus with them and checks that the committed files are exactly what this script writes.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from recsys_assets.catalog.reading import REQUIRED_COLUMNS, InputLimits

LIMITS = InputLimits(max_file_bytes=20_000, max_item_chars=1_000, max_field_chars=4_000)

HEADER = REQUIRED_COLUMNS
GOOD = {
    "product_id": "B0001",
    "product_name": "USB Cable",
    "category": "Computers&Accessories|Cables",
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
    "review_content": "Charges fast, works well,Broke after a week",
    "img_link": "https://img.example/1.jpg",
    "product_link": "https://shop.example/dp/B0001",
}


def catalog(*changes: dict, header=HEADER, delimiter: str = ",") -> bytes:
    """The header, the good row, then one row per dict of changes to it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in [{}, *changes]:
        writer.writerow([{**GOOD, **row}.get(name, "") for name in header])
    return buffer.getvalue().encode("utf-8")


def bad_row(header=HEADER, **changes) -> bytes:
    return catalog({"product_id": "B0002", **changes}, header=header)


WITH_TIMESTAMP = (*HEADER, "timestamp")
WITH_AGE = (*HEADER, "age")


CORPUS: dict[str, bytes] = {
    # file-level faults
    "empty.csv": b"",
    "blank_lines.csv": b"\n\n  \n",
    "header_only.csv": catalog()[: catalog().index(b"\n") + 1],
    "binary.csv": b"\x00\x01\x02\x03" * 64,
    "xlsx_renamed.csv": b"PK\x03\x04" + b"\x14\x00\x06\x00" * 16,
    "json.csv": json.dumps([GOOD], ensure_ascii=False).encode(),
    "semicolons.csv": catalog(delimiter=";"),
    "tabs.csv": catalog(delimiter="\t"),
    "missing_columns.csv": catalog(header=tuple(c for c in HEADER if c not in ("rating", "user_id"))),
    "duplicate_columns.csv": catalog(header=(*HEADER, "rating")),
    "latin1.csv": catalog({"product_id": "B0002", "user_name": "José,Ravi"}).replace(
        "é".encode(), "é".encode("latin-1")
    ),
    "too_large.csv": catalog() + b"#" * LIMITS.max_file_bytes,
    # row-level faults
    "rating_not_a_number.csv": bad_row(rating="|"),
    "rating_out_of_range.csv": bad_row(rating="7.5"),
    "price_european_format.csv": bad_row(discounted_price="1.099,00"),
    "price_indian_grouping.csv": bad_row(actual_price="₹1,00,000"),
    "discount_over_100.csv": bad_row(discount_percentage="140%"),
    "rating_count_text.csv": bad_row(rating_count="many"),
    "huge_rating_count.csv": bad_row(rating_count="9" * 25),  # not a whole int64
    "infinite_price.csv": bad_row(actual_price="9" * 400),  # parses to inf
    "missing_product_id.csv": bad_row(product_id=""),
    "no_reviewers.csv": bad_row(user_id=""),
    "review_ids_shorter.csv": bad_row(review_id="R9"),
    "empty_reviewer_in_list.csv": bad_row(user_id="U1,,U3", review_id="R1,R2,R3"),
    "empty_review_id_in_list.csv": bad_row(review_id="R1,"),
    "user_names_longer.csv": bad_row(user_name="Asha,Ravi,Extra"),
    "conflicting_review_id.csv": catalog({"user_id": "U1,U3"}),
    "repeated_product_row.csv": catalog({}),
    "padded_product_id.csv": catalog({"product_id": " B0001 "}),
    "control_character.csv": bad_row(review_content="Fine\x1b[31m,ok"),
    # past the first 4 KiB, where a NUL byte would make the whole file binary
    "nul_in_field.csv": bad_row(about_product="x" * 3900 + "\x00"),
    "long_list_item.csv": bad_row(review_content="y" * (LIMITS.max_item_chars + 1) + ",short"),
    "long_scalar_field.csv": bad_row(about_product="z" * (LIMITS.max_field_chars + 1)),
    # a list field longer than max_field_chars is fine: only its items are limited
    "long_reviewer_list.csv": bad_row(
        user_id=",".join(f"U{i}" for i in range(1000)),
        user_name="",
        review_id=",".join(f"R{i}" for i in range(1000)),
    ),
    # ids: Personalize takes at most 256 characters; any script and case is an id of its own
    "long_user_id.csv": bad_row(user_id="U1," + "u" * 257),
    "long_product_id.csv": bad_row(product_id="P" * 257),
    "id_at_the_length_limit.csv": bad_row(product_id="P" * 256, user_id="U1," + "u" * 256),
    "non_ascii_and_case_ids.csv": bad_row(user_id="José,u1"),
    # the optional timestamp and age columns: one value or one per reviewer, empty items not given
    "negative_timestamp.csv": bad_row(timestamp="1700000000,-5", header=WITH_TIMESTAMP),
    "huge_timestamp.csv": bad_row(timestamp="1e30", header=WITH_TIMESTAMP),
    "fractional_timestamp.csv": bad_row(timestamp="1700000000.5", header=WITH_TIMESTAMP),
    "timestamp_not_a_number.csv": bad_row(timestamp="nan,1700000000", header=WITH_TIMESTAMP),
    "timestamps_longer.csv": bad_row(timestamp="1,2,3", header=WITH_TIMESTAMP),
    "timestamps_partly_given.csv": bad_row(timestamp="1700000000,", header=WITH_TIMESTAMP),
    "fractional_age.csv": bad_row(age="30.5", header=WITH_AGE),
    "huge_age.csv": bad_row(age="40,1e30", header=WITH_AGE),
    "ages_partly_given.csv": bad_row(age=",41", header=WITH_AGE),
    "long_category.csv": bad_row(category="C" * 300 + "|Leaf"),
    "wrong_field_count.csv": catalog() + b"B0009,only,three\n",
    "unclosed_quote.csv": catalog() + b'B0009,"never closed\n',
}


def main() -> None:
    folder = Path(__file__).parent
    for name, data in CORPUS.items():
        (folder / name).write_bytes(data)


if __name__ == "__main__":
    main()
