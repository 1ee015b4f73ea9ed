"""Asset checks: every table is validated against its pandera model before anything downstream uses it."""

import pandas as pd
import pandera.pandas as pa
from dagster import AssetCheckResult, AssetCheckSeverity, AssetChecksDefinition, AssetKey, MetadataValue, asset_check

from recsys_assets.assets.metadata import markdown_table
from recsys_assets.schemas import TABLE_SCHEMAS


def schema_check(asset_name: str, model: type[pa.DataFrameModel]) -> AssetChecksDefinition:
    """A blocking check that validates the asset's table against `model` and reports every failure case."""

    @asset_check(
        asset=AssetKey(asset_name),
        name="matches_schema",
        blocking=True,
        description=f"{asset_name} matches the pandera model {model.__name__}.",
    )
    def _check(table: pd.DataFrame) -> AssetCheckResult:
        try:
            model.validate(table, lazy=True)
        except pa.errors.SchemaErrors as errors:
            cases = errors.failure_cases[["column", "check", "index", "failure_case"]]
            return AssetCheckResult(
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                metadata={"failure_cases": len(cases), "first_failures": markdown_table(cases, rows=10)},
            )
        return AssetCheckResult(passed=True, metadata={"rows_checked": len(table), "model": MetadataValue.text(model.__name__)})

    return _check


schema_checks = [schema_check(name, model) for name, model in TABLE_SCHEMAS.items()]
