"""Pipeline settings shared by the assets (typed, shown in the UI, overridable per run)."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field


class PipelineSettings(ConfigurableResource):
    """Where the input is and how much to produce."""

    input_location: str = Field(
        default="data/sample.csv", description="Catalog CSV file, or a folder whose *.csv files are all read."
    )
    num_results: int = Field(default=5, ge=1, le=500, description="Recommendations per customer.")
    fallback_encoding: str = Field(
        default="", description="Encoding to decode non-UTF-8 files with (logged); empty means such files fail."
    )
    max_file_mb: float = Field(default=2048.0, gt=0, description="Larger input files are refused.")
    max_rejected_share: float = Field(
        default=0.10, ge=0, le=1, description="Abort when more than this share of input rows is quarantined."
    )
