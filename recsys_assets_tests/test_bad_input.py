"""Bad input: the corpus of bad files, hostile rows from hypothesis, and the quarantine threshold."""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys_assets.catalog.reading import REQUIRED_COLUMNS, InputFileError, parse_catalog_csv
from recsys_assets.catalog.tables import build_users
from recsys_assets.cli import main
from recsys_assets.formats.kaggle import read_kaggle
from recsys_assets.formats.tables import ReadOptions
from recsys_assets.resources.io_manager import MAX_PARTITION_NAME_CHARS, table_key
from recsys_assets.schemas import CustomerSegments, FileCustomers, FileProducts, FileReviews, Users
from recsys_assets.segmentation import assign_segments

from .bad_files.make_bad_files import CORPUS, GOOD, LIMITS

BAD_FILES = Path(__file__).parent / "bad_files"
GOOD_ROWS = 2  # header, then the good row on line 2: the faulty row (if any) is line 3

FILE_ERRORS = {
    "empty.csv": "the file is empty",
    "blank_lines.csv": "the file is empty",
    "header_only.csv": "the file has a header but no rows",
    "binary.csv": "not a CSV file: binary data (NUL bytes)",
    "xlsx_renamed.csv": "not a CSV file: a zip archive (an .xlsx workbook?)",
    "json.csv": "not a CSV file: it looks like JSON",
    "semicolons.csv": "the delimiter is a semicolon (';'), not a comma: export the file as comma-separated",
    "tabs.csv": "the delimiter is a tab ('\\t'), not a comma: export the file as comma-separated",
    "missing_columns.csv": "required columns missing: rating, user_id",
    "duplicate_columns.csv": "columns appear more than once: rating",
    "latin1.csv": "line 3, column 102: byte 0xe9 is not UTF-8 (invalid continuation byte); "
    "re-export the file as UTF-8 or set a fallback encoding",
    "too_large.csv": "20,448 bytes is above the limit of 20,000 bytes (max_file_mb)",
}
QUARANTINED = {
    "rating_not_a_number.csv": ("rating", "rating is not a number"),
    "rating_out_of_range.csv": ("rating", "rating out of range"),
    "price_european_format.csv": ("discounted_price", "discounted_price is not a number"),
    "discount_over_100.csv": ("discount_percentage", "discount_percentage out of range"),
    "rating_count_text.csv": ("rating_count", "rating_count is not a number"),
    "huge_rating_count.csv": ("rating_count", "rating_count out of range"),
    "infinite_price.csv": ("actual_price", "actual_price out of range"),
    "missing_product_id.csv": ("product_id", "missing product_id"),
    "no_reviewers.csv": ("user_id", "no reviewers listed"),
    "review_ids_shorter.csv": ("review_id", "review_id and user_id lists differ in length"),
    "empty_reviewer_in_list.csv": ("user_id", "an empty user_id in the list"),
    "empty_review_id_in_list.csv": ("review_id", "an empty review_id in the list"),
    "conflicting_review_id.csv": ("review_id", "review_id already given to another user or text for this product"),
    "control_character.csv": ("review_content", "control character"),
    "nul_in_field.csv": ("about_product", "control character"),
    "long_list_item.csv": ("review_content", "an item longer than 1,000 characters"),
    "long_scalar_field.csv": ("about_product", "longer than 4,000 characters"),
    "long_user_id.csv": ("user_id", "a user_id longer than 256 characters"),
    "long_product_id.csv": ("product_id", "longer than 256 characters"),
    "negative_timestamp.csv": ("timestamp", "timestamp is not whole epoch seconds from 1 to 4,294,967,295"),
    "huge_timestamp.csv": ("timestamp", "timestamp is not whole epoch seconds from 1 to 4,294,967,295"),
    "fractional_timestamp.csv": ("timestamp", "timestamp is not whole epoch seconds from 1 to 4,294,967,295"),
    "timestamp_not_a_number.csv": ("timestamp", "timestamp is not whole epoch seconds from 1 to 4,294,967,295"),
    "timestamps_longer.csv": ("timestamp", "timestamp and user_id lists differ in length"),
    "fractional_age.csv": ("age", "age is not a whole number of years from 0 to 150"),
    "huge_age.csv": ("age", "age is not a whole number of years from 0 to 150"),
    "wrong_field_count.csv": ("", "expected 16 fields, found 3"),
    "unclosed_quote.csv": ("", "expected 16 fields, found 2"),
}
# valid despite looking odd: Indian digit grouping, a repeated identical product row, 1,000 reviewers
# in one row, user names that do not split one per reviewer (kept; those reviews get no name), ids of
# 256 characters, in any script or case, timestamps and ages given for some reviewers only, a long category
ACCEPTED = [
    "price_indian_grouping.csv",
    "repeated_product_row.csv",
    "padded_product_id.csv",
    "long_reviewer_list.csv",
    "user_names_longer.csv",
    "id_at_the_length_limit.csv",
    "non_ascii_and_case_ids.csv",
    "timestamps_partly_given.csv",
    "ages_partly_given.csv",
    "long_category.csv",
]


def test_the_committed_corpus_is_what_the_script_writes_and_every_file_has_an_expectation():
    assert {p.name: p.read_bytes() for p in BAD_FILES.glob("*.csv")} == CORPUS
    assert sorted([*FILE_ERRORS, *QUARANTINED, *ACCEPTED]) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(FILE_ERRORS))
def test_a_bad_file_stops_with_one_message_naming_file_and_fault(name):
    with pytest.raises(InputFileError) as raised:
        parse_catalog_csv((BAD_FILES / name).read_bytes(), name, limits=LIMITS)
    assert str(raised.value) == f"{name}: {FILE_ERRORS[name]}"


@pytest.mark.parametrize("name", sorted(QUARANTINED))
def test_a_bad_row_is_quarantined_with_line_column_and_reason_and_the_good_row_kept(name):
    parsed = parse_catalog_csv((BAD_FILES / name).read_bytes(), name, limits=LIMITS)
    assert parsed.rows["source_line"].tolist() == [GOOD_ROWS]
    assert parsed.rejected[["source_file", "source_line", "column", "reason"]].values.tolist() == [
        [name, 3, *QUARANTINED[name]]
    ]
    assert json.loads(parsed.rejected["raw_row"].iloc[0])  # the raw row is kept, as JSON


@pytest.mark.parametrize("name", ACCEPTED)
def test_odd_but_valid_rows_are_kept(name):
    parsed = parse_catalog_csv((BAD_FILES / name).read_bytes(), name, limits=LIMITS)
    assert parsed.rejected.empty and parsed.rows["source_line"].tolist() == [2, 3]


@pytest.mark.parametrize("name", sorted([*QUARANTINED, *ACCEPTED]))
def test_the_rows_a_bad_file_keeps_build_tables_that_pass_their_schemas(name):
    tables = read_kaggle((BAD_FILES / name).read_bytes(), name, ReadOptions(limits=LIMITS))
    users = build_users(tables.reviews, tables.events, tables.customers, tables.products)
    for schema, table in (
        (FileProducts, tables.products),
        (FileReviews, tables.reviews),
        (FileCustomers, tables.customers),
        (Users, users),
    ):
        schema.validate(table)
    CustomerSegments.validate(assign_segments(users, min_interactions=1))


def test_long_partition_keys_become_bounded_file_names_that_stay_distinct():
    long_name = "f" * 236 + ".csv"
    keys = [table_key(["raw_reviews"], key) for key in (long_name, long_name + "x", "é" * 100, "a b.csv")]
    names = [key.rsplit("/", 1)[1] for key in keys]
    assert max(len(name) for name in names) < MAX_PARTITION_NAME_CHARS + 40 and len(set(names)) == 4
    assert names[3] == "a%20b.csv" and names[2].startswith("%C3%A9" * 16 + "-")


def test_a_latin1_file_reads_with_the_documented_fallback_encoding():
    parsed = parse_catalog_csv((BAD_FILES / "latin1.csv").read_bytes(), "latin1.csv", "latin-1", LIMITS)
    assert parsed.fallback_lines == [3] and parsed.rows["user_name"].tolist() == ["Asha,Ravi", "José,Ravi"]


# Hostile field values: random unicode (no lone surrogates: they cannot be written as UTF-8),
# separators, quotes, control characters, numbers in every format, fields above the limits.
HOSTILE = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(
        [
            "",
            ",",
            '"',
            '""',
            "\n",
            "\r\n",
            "\r",
            "\x1b",
            "\x7f",
            "=1+1",
            "@x",
            "₹1,00,000",
            "1.099,00",
            "-4",
            "nan",
            "1e309",
            "4.2",
            "64%",
            "R1,R1",
            "U1,,U2",
            "x" * (LIMITS.max_item_chars + 1),
            "<script>",
        ]
    ),
)
ROW = st.one_of(
    st.dictionaries(st.sampled_from(REQUIRED_COLUMNS), HOSTILE, max_size=4),  # a good row with some fields replaced
    st.lists(HOSTILE, min_size=1, max_size=20),  # a row with any number of fields
)
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def hostile_csv(rows: list) -> tuple[bytes, list[int]]:
    """The catalog CSV of `rows` and the line each row starts on."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # so that fields with a lone "\r" are quoted too
    writer.writerow(REQUIRED_COLUMNS)
    starts = []
    for row in rows:
        starts.append(len(LINE_BREAK.findall(buffer.getvalue())) + 1)
        writer.writerow([{**GOOD, **row}[c] for c in REQUIRED_COLUMNS] if isinstance(row, dict) else row)
    return buffer.getvalue().encode("utf-8"), starts


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, min_size=1, max_size=6))
def test_every_hostile_row_is_either_kept_or_quarantined_exactly_once(rows):
    data, starts = hostile_csv(rows)
    try:
        parsed = parse_catalog_csv(data, "h.csv", limits=LIMITS)
    except InputFileError as error:  # documented file-level faults only
        assert re.match(r"h\.csv: not a CSV file: binary data", str(error)), error
        return
    kept, quarantined = parsed.rows["source_line"].tolist(), parsed.rejected["source_line"].tolist()
    assert sorted(kept + quarantined) == starts
    assert parsed.rejected["reason"].str.len().gt(0).all()


def test_a_run_stops_when_the_quarantined_share_passes_the_limit(tmp_path, capsys):
    (tmp_path / "mostly_bad.csv").write_bytes(CORPUS["rating_not_a_number.csv"])
    assert main(["run", "--input", str(tmp_path / "mostly_bad.csv"), "--home", str(tmp_path / "home")]) == 2
    assert (
        "mostly_bad.csv: 50.0% of 2 rows were quarantined, above the limit of 10%: is the export broken? "
        "First reasons: line 3 rating: rating is not a number"
    ) in capsys.readouterr().err


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    from dagster import DagsterInstance, materialize

    from recsys_assets.defs.ingest.assets import file_tables
    from recsys_assets.resources.object_store import LocalObjectStore
    from recsys_assets.resources.pipeline_settings import PipelineSettings

    class StoreThatMustNotRead(LocalObjectStore):
        def read_bytes(self, key: str) -> bytes:
            raise AssertionError(f"{key} was read")

    (tmp_path / "big.csv").write_bytes(b"x" * 2048)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("raw_files", ["big.csv"])
        result = materialize(
            [file_tables],
            partition_key="big.csv",
            instance=instance,
            raise_on_error=False,
            resources={
                "storage": StoreThatMustNotRead(root=str(tmp_path)),
                "settings": PipelineSettings(input_location=str(tmp_path), max_file_mb=1 / 1024),
            },
        )
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    message = (failure.cause or failure).message
    assert "big.csv: 2,048 bytes is above the limit of 1,024 bytes (max_file_mb)" in message


def test_rows_that_used_to_stop_a_later_step_are_quarantined_and_the_run_completes(tmp_path):
    sample = list(csv.DictReader(io.StringIO((Path(__file__).parents[1] / "data/inbox/sample.csv").read_text())))
    rows = [{**row, "timestamp": "", "age": ""} for row in sample]
    rows[0]["user_id"] = "u" * 300 + rows[0]["user_id"][rows[0]["user_id"].index(",") :]
    rows[1]["product_id"] = "P" * 300
    rows[2]["timestamp"], rows[3]["timestamp"], rows[4]["age"], rows[5]["age"] = "-5", "1e30", "30.5", "1e30"
    for row in rows[6:9]:  # kept: its segment, partition and file names are bounded
        row["category"] = "C" * 300 + "|Leaf"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with (inbox / ("f" * 236 + ".csv")).open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, [*REQUIRED_COLUMNS, "timestamp", "age"])
        writer.writeheader()
        writer.writerows(rows)
    assert main(["run", "--input", str(inbox), "--home", str(tmp_path / "home")]) == 0
    summary = json.loads((tmp_path / "home" / "run_summary.json").read_text())
    assert summary["counts"]["quarantined_rows"] == 6 and summary["counts"]["products"] == len(rows) - 6
    assert summary["quarantine_reasons"] == {
        "a user_id longer than 256 characters": 1,
        "longer than 256 characters": 1,
        "timestamp is not whole epoch seconds from 1 to 4,294,967,295": 2,
        "age is not a whole number of years from 0 to 150": 2,
    }
    assert "c" * 55 + "-b9defaed" in summary["segments"]
