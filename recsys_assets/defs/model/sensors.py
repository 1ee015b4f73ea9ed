"""The retrain sensor: enough new interactions since training retrain the model (besides the weekly cron)."""

from dagster import AssetKey, DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from recsys_assets.defs.automation import latest_materialization
from recsys_assets.defs.model.assets import TRAINED_INTERACTIONS
from recsys_assets.resources.pipeline_settings import PipelineSettings

MODEL = "recommender_model"


@sensor(
    name="retrain_sensor",
    asset_selection=[AssetKey(MODEL)],
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.RUNNING,
    description="Retrains the model when enough new interactions arrived since training (besides the weekly cron).",
)
def retrain_sensor(context: SensorEvaluationContext, settings: PipelineSettings):
    interactions = latest_materialization(context, "interactions")
    model = latest_materialization(context, MODEL)
    if interactions is None or model is None:
        return SkipReason("the model or its interactions have not been materialized yet")
    now = int(interactions.asset_materialization.metadata["dagster/row_count"].value)
    trained = int(model.asset_materialization.metadata[TRAINED_INTERACTIONS].value)
    needed = max(settings.retrain_min_new_interactions, int(settings.retrain_new_share * trained))
    if now - trained < needed:
        return SkipReason(f"{now - trained:,} new interactions since training; retraining at {needed:,}")
    return RunRequest(asset_selection=[AssetKey(MODEL)], run_key=f"retrain:{interactions.storage_id}")
