"""Automation shared by the stages: the declarative conditions and the sensor that evaluates them."""

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    EventLogRecord,
    SensorEvaluationContext,
)

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
# The model is trained once its inputs exist, then retrained weekly (Monday 03:00); the retrain
# sensor adds "when enough new interactions arrived".
FIRST_TRAINING = (
    AutomationCondition.missing()
    & AutomationCondition.any_deps_updated()
    & ~AutomationCondition.any_deps_missing()
    & ~AutomationCondition.any_deps_in_progress()
).with_label("first training")
RETRAIN_SCHEDULE = FIRST_TRAINING | AutomationCondition.on_cron("0 3 * * 1")


def latest_materialization(context: SensorEvaluationContext, asset: str) -> EventLogRecord | None:
    """The newest materialization record of an asset, or None."""
    records = context.instance.fetch_materializations(AssetKey(asset), limit=1).records
    return records[0] if records else None


automation_sensor = AutomationConditionSensorDefinition(
    "automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    description="Sentiment, interactions and segments follow new raw data; emails follow recommendations.",
)
