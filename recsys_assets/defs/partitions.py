"""Partitions: one per input file, one per customer segment (both come from the data)."""

from dagster import AutomationCondition, DynamicPartitionsDefinition

raw_files = DynamicPartitionsDefinition(name="raw_files")
segments = DynamicPartitionsDefinition(name="segments")

# Eager, for the assets that read every input file: a file whose ingest failed (its run names the
# file and the fault) stays missing without holding back the other files' data.
EAGER_OVER_FILES = AutomationCondition.eager().replace(
    "any_deps_missing",
    AutomationCondition.any_deps_match(
        AutomationCondition.missing()
        & ~AutomationCondition.will_be_requested()
        & ~AutomationCondition.execution_failed()
    ).with_label("any_deps_missing"),
)
