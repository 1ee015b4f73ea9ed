import json
import tracemalloc

import pytest

from recsys_assets.catalog.reading import InputFileError, InputLimits, parse_catalog_csv
from recsys_assets.sample.generator import generate_catalog

LIMITS = InputLimits(max_item_chars=1_000, max_field_chars=2_000)  # runs of more than 8,000 bytes are cut


def catalog_csv(**fields: str) -> bytes:
    """Three sample products, the second one's `fields` replaced."""
    catalog = generate_catalog(n_products=3, n_users=4, n_reviews=6)
    for column, value in fields.items():
        catalog.loc[1, column] = value
    return catalog.to_csv(index=False).encode()


def test_a_field_with_a_long_run_is_quarantined_with_line_and_column_and_not_kept_whole():
    parsed = parse_catalog_csv(catalog_csv(about_product="x" * 10_000), "f.csv", limits=LIMITS)
    [rejected] = parsed.rejected.to_dict(orient="records")
    assert (rejected["source_line"], rejected["column"]) == (3, "about_product")
    assert rejected["reason"].startswith("longer than 2,000 characters")
    assert json.loads(rejected["raw_row"])["about_product"] == "[10,000 bytes not kept]"
    assert parsed.rows["source_line"].tolist() == [2, 4]


def test_a_long_list_of_short_items_is_not_cut():
    ids = [f"U{i:05d}" for i in range(3_000)]  # 20,999 bytes, no item longer than 6 characters
    lists = {
        "user_id": ",".join(ids),
        "user_name": ",".join(["Name"] * 3_000),
        "review_id": ",".join(f"R{i:05d}" for i in range(3_000)),
        "review_title": ",".join(["Good"] * 3_000),
        "review_content": ",".join(["Nice."] * 3_000),
    }
    parsed = parse_catalog_csv(catalog_csv(**lists), "f.csv", limits=LIMITS)
    assert parsed.rejected.empty
    assert parsed.rows["user_id"].tolist()[1] == lists["user_id"]


def test_reading_a_huge_field_takes_memory_by_the_file_not_by_four_bytes_a_character():
    data = catalog_csv(about_product="Huge field text " * (2**20))  # 16 MiB
    tracemalloc.start()
    try:
        parsed = parse_catalog_csv(data, "f.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.rejected["column"].tolist() == ["about_product"]
    assert peak < 4 * 2**20


def test_a_long_run_in_the_header_stops_with_a_message():
    data = catalog_csv()
    header, rest = data.split(b"\n", 1)
    with pytest.raises(InputFileError, match="f.csv: the header has a name longer than 2,000 characters"):
        parse_catalog_csv(header + b"," + b"x" * 10_000 + b"\n" + rest, "f.csv", limits=LIMITS)
