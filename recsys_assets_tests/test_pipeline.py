"""The whole graph, materialized on small generated data, and the command line around it."""

import email
import json
import sqlite3
from email.policy import default

import pandas as pd
import pytest
from dagster import AssetKey, Definitions, materialize

from recsys_assets.assets.checks import schema_checks
from recsys_assets.cli import main
from recsys_assets.definitions import all_assets, defs
from recsys_assets.settings import RunOptions, build_resources

from .conftest import shared_file

ASSETS = [
    "raw_reviews", "rejected_rows", "products", "reviews", "users",
    "review_sentiment", "interactions", "recommender", "recommendations", "emails",
]


def test_definitions_load_with_every_asset_check_and_the_job():
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert sorted(k.to_user_string() for k in graph.get_all_asset_keys()) == sorted(ASSETS)
    assert len(graph.asset_check_keys) == 9
    assert defs.resolve_job_def("recsys_job") is not None


@pytest.fixture(scope="module")
def run(tmp_path_factory, sample_csv):
    home = tmp_path_factory.mktemp("home")
    resources = build_resources(RunOptions(home=str(home), input_location=str(sample_csv), num_results=4))
    result = materialize([*all_assets, *schema_checks], resources=resources)
    return home, resources, result


def table(home, name: str) -> pd.DataFrame:
    return pd.read_parquet(home / "assets" / f"{name}.parquet")


def test_the_whole_graph_materializes_and_every_check_passes(run):
    _, _, result = run
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == set(ASSETS)
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(checks) == 9 and all(c.passed for c in checks)


def test_every_user_gets_n_unseen_recommendations_and_one_email(run):
    home, _, _ = run
    users, interactions, recs = table(home, "users"), table(home, "interactions"), table(home, "recommendations")
    assert set(recs["USER_ID"]) == set(users["user_id"])
    assert recs.groupby("USER_ID").size().eq(4).all()
    seen = recs.merge(interactions, on=["USER_ID", "ITEM_ID"])
    assert seen.empty
    emails = sorted((home / "emails").glob("*.eml"))
    assert len(emails) == len(users)
    message = email.message_from_bytes(emails[0].read_bytes(), policy=default)
    assert message.get_content_type() == "multipart/alternative"
    csv = pd.read_csv(home / "recommendations.csv")
    assert list(csv.columns) == ["USER_ID", "RANK", "ITEM_ID", "SCORE"] and len(csv) == len(recs)


def test_profile_store_holds_products_users_and_recommendations(run):
    home, _, _ = run
    with sqlite3.connect(home / "profiles.sqlite") as db:
        counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("products", "users", "recommendations")}
    assert counts == {
        "products": len(table(home, "products")),
        "users": len(table(home, "users")),
        "recommendations": len(table(home, "recommendations")),
    }


def test_recommender_reports_personalize_metrics_and_beats_popularity(run):
    _, _, result = run
    metadata = result.asset_materializations_for_node("recommender")[0].metadata
    metrics = metadata["offline_metrics"].value
    assert set(metrics["model"]) == {
        "coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10", "normalized_discounted_cumulative_gain_at_25",
        "precision_at_5", "precision_at_10", "precision_at_25",
    }
    assert metadata["normalized_discounted_cumulative_gain_at_10"].value == metrics["model"]["normalized_discounted_cumulative_gain_at_10"]


def test_rematerializing_gives_identical_outputs_and_no_duplicates(run):
    home, resources, _ = run
    before_csv = (home / "recommendations.csv").read_bytes()
    before_emails = {p.name: p.read_bytes() for p in (home / "emails").glob("*.eml")}
    before_tables = {name: table(home, name) for name in ("products", "reviews", "interactions", "review_sentiment")}
    assert materialize([*all_assets, *schema_checks], resources=resources).success
    assert (home / "recommendations.csv").read_bytes() == before_csv
    assert {p.name: p.read_bytes() for p in (home / "emails").glob("*.eml")} == before_emails
    for name, frame in before_tables.items():
        pd.testing.assert_frame_equal(table(home, name), frame)
    with sqlite3.connect(home / "profiles.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM recommendations").fetchone()[0] == len(table(home, "recommendations"))


def test_cli_run_writes_summary_and_outputs(tmp_path, sample_csv, capsys):
    assert main(["run", "--input", str(sample_csv), "--home", str(tmp_path), "--num-results", "3"]) == 0
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    assert summary["counts"]["recommendations"] == 3 * summary["counts"]["users"]
    assert summary["emails_written"] == summary["counts"]["users"]
    assert summary["checks_failed"] == []
    out = capsys.readouterr().out
    assert "normalized_discounted_cumulative_gain_at_10" in out and "emails written" in out


def test_cli_run_on_a_bad_file_names_it_and_exits_non_zero(tmp_path, capsys):
    bad = tmp_path / "broken.csv"
    bad.write_text("product_id;name\nB1;x\n")
    assert main(["run", "--input", str(bad), "--home", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err
    assert "broken.csv: required columns missing" in err


def test_cli_sample_writes_the_amazon_format(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sample", "--out", str(out), "--products", "20", "--users", "30", "--reviews", "100", "--seed", "1"]) == 0
    assert pd.read_csv(out).shape[0] == 20


def test_the_real_amazon_export_gets_recommendations_and_an_email_for_every_user(tmp_path):
    path = shared_file("amazon-sales", "amazon.csv")
    assert main(["run", "--input", path, "--home", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    users = summary["counts"]["users"]
    assert users > 9000
    assert summary["counts"]["recommendations"] == 5 * users
    assert summary["emails_written"] == users
    assert len(list((tmp_path / "emails").glob("*.eml"))) == users
