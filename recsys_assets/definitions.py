"""The Dagster code location: the defs folder (assets, checks, jobs, sensors by stage) plus the resources
chosen for the environment, read from RECSYS_* variables when the definitions are built, not at import."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from recsys_assets.defs.conventions import apply_conventions
from recsys_assets.environment import RunOptions, build_resources


def build_definitions(options: RunOptions) -> dg.Definitions:
    """Everything under recsys_assets/defs/, with the resources `options` choose and the kinds they imply."""
    loaded = dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources=build_resources(options)),
    )
    return apply_conventions(loaded, options)


@dg.definitions
def defs() -> dg.Definitions:
    """The code location `dg dev`, `dg check defs` and `dagster dev` load: settings from the RECSYS_* variables."""
    return build_definitions(RunOptions.from_environment())
