"""Schema checks: every table asset validates its own output against its pandera model.

The checks are declared on the assets (`check_specs=`) and blocking, so nothing downstream runs on
a table that does not match its model; the result shows next to the asset in the UI.
"""

import pandas as pd
import pandera.pandas as pa
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from recsys_assets.defs.metadata import markdown_table
from recsys_assets.schemas import TABLE_SCHEMAS

CHECK_NAME = "matches_schema"


def schema_check_spec(asset_name: str) -> AssetCheckSpec:
    """The blocking schema check of a table asset."""
    model = TABLE_SCHEMAS[asset_name]
    return AssetCheckSpec(
        CHECK_NAME,
        asset=asset_name,
        blocking=True,
        description=f"{asset_name} matches the pandera model {model.__name__}.",
    )


def schema_check_result(asset_name: str, table: pd.DataFrame) -> AssetCheckResult:
    """Validate `table` against its model, reporting every failure case."""
    model = TABLE_SCHEMAS[asset_name]
    try:
        model.validate(table, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases[["column", "check", "index", "failure_case"]]
        return AssetCheckResult(
            asset_key=asset_name,
            check_name=CHECK_NAME,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            metadata={"failure_cases": len(cases), "first_failures": markdown_table(cases, rows=10)},
        )
    return AssetCheckResult(
        asset_key=asset_name,
        check_name=CHECK_NAME,
        passed=True,
        metadata={"rows_checked": len(table), "model": MetadataValue.text(model.__name__)},
    )
