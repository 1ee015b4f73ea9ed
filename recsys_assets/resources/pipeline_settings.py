"""Pipeline settings shared by the assets (typed, shown in the UI, overridable per run)."""

from __future__ import annotations

from typing import Literal

from dagster import ConfigurableResource
from pydantic import Field


class PipelineSettings(ConfigurableResource):
    """Where the input is and how much to produce."""

    input_location: str = Field(
        default="data/inbox", description="The inbox: folder (or S3 prefix) whose files are the raw_files partitions."
    )
    input_format: str = Field(
        default="auto",
        description="The inputs' format: auto (each file's detected from its header), kaggle, personalize, "
        "order-lines or suppression (docs/own-data.md).",
    )
    column_mapping: str = Field(
        default="",
        description="A TOML column-mapping file: per file-name glob, the format, currency and the file's names of "
        "our columns (docs/own-data.md); empty: none.",
    )
    num_results: int = Field(default=5, ge=1, le=500, description="Recommendations per customer.")
    fallback_encoding: str = Field(
        default="", description="Encoding to decode non-UTF-8 files with (logged); empty means such files fail."
    )
    max_file_mb: float = Field(default=2048.0, gt=0, description="Larger input files are refused.")
    max_item_chars: int = Field(
        default=20_000,
        ge=1,
        description="Rows with a longer reviewer-list item (one name, title or review) are quarantined.",
    )
    max_field_chars: int = Field(
        default=1_000_000, ge=1, description="Rows with a longer non-list field are quarantined."
    )
    segment_rule: Literal["category", "country", "rfm"] = Field(
        default="category",
        description="How customers are segmented: favourite top-level category, country, or RFM tier "
        "(recency, frequency, monetary value); docs/segments.md.",
    )
    segment_min_interactions: int = Field(
        default=2, ge=1, description="category: customers with fewer interactions are in the `general` segment."
    )
    max_files_per_tick: int = Field(default=20, ge=1, description="Inbox files the sensor starts runs for per tick.")
    inbox_settle_seconds: float = Field(
        default=30.0,
        ge=0,
        description="The sensor reads an inbox file once seen unchanged this long (a file being written waits).",
    )
    retrain_min_new_interactions: int = Field(
        default=1000, ge=1, description="Retrain after at least this many new interactions..."
    )
    retrain_new_share: float = Field(default=0.10, ge=0, description="...and at least this share of those trained on.")
    aws_roles: list[str] = Field(
        default=[], description="The roles AWS services play (storage, profiles, ...), for the run summary's estimate."
    )
    max_rejected_share: float = Field(
        default=0.10, ge=0, le=1, description="Abort when more than this share of input rows is quarantined."
    )
