"""The whole graph, materialized on small generated data, and the command line around it."""

import email
import json
import os
import sqlite3
from email.policy import default

import pandas as pd
import pytest
from dagster import Definitions

from recsys_assets.cli import main
from recsys_assets.cli import run as runner
from recsys_assets.cli.run import PipelineError, inbox_files, run_pipeline
from recsys_assets.definitions import build_definitions
from recsys_assets.emails.render import email_filename
from recsys_assets.environment import RunOptions
from recsys_assets.resources.object_store import LocalObjectStore

from .conftest import addresses_of, shared_file, write_users_file

ASSETS = [
    "file_products",
    "file_customers",
    "file_events",
    "file_reviews",
    "file_suppressions",
    "rejected_rows",
    "products",
    "reviews",
    "events",
    "users",
    "suppressions",
    "recipients",
    "file_sentiment",
    "review_sentiment",
    "interactions",
    "variant_families",
    "recommender_model",
    "customer_segments",
    "recommendations",
    "emails",
]
PUBLISHED = [
    "personalize_import_files",
    "served_products",
    "served_users",
    "served_recommendations",
    "segment_recommendations_csv",
    "current_customers_served",
    "recommendations_export",
    "run_summary",
]
# sending: never in a run, its own jobs
DELIVERY = ["email_deliveries", "delivery_notifications", "campaign_results"]


def test_definitions_load_with_every_asset_check_job_and_sensor():
    defs = build_definitions(RunOptions())
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert sorted(k.to_user_string() for k in graph.get_all_asset_keys()) == sorted(ASSETS + PUBLISHED + DELIVERY)
    checks = {key.to_user_string() for key in graph.asset_check_keys}
    tables = [name for name in ASSETS if name != "recommender_model"]  # every table but the model
    assert checks == {f"{name}:matches_schema" for name in tables} | {"emails:emails_are_sendable"}
    jobs = {"ingest_file_job", "catalog_job", "segment_job", "export_job", "cleanup_aws"}
    jobs |= {"send_job", "notifications_job", "results_job"}
    assert {j.name for j in defs.jobs} == jobs
    assert {s.name for s in defs.sensors} == {"inbox_sensor", "segment_sensor", "retrain_sensor", "automation"}


def test_the_inbox_is_one_file_or_every_csv_under_a_folder_oldest_first_as_the_sensor_takes_them(tmp_path):
    store, inbox = LocalObjectStore(root=str(tmp_path / "home")), tmp_path / "inbox"
    for name in ("b.csv", "2024/a.CSV", "notes.txt", ".c.csv.partial", ".git/d.csv"):
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_text("x")
    os.utime(inbox / "b.csv", (1_000, 1_000))  # the older file comes first, whatever its name
    os.utime(inbox / "2024/a.CSV", (2_000, 2_000))
    assert inbox_files(store, str(inbox)) == (str(inbox), ["b.csv", "2024/a.CSV"])
    assert inbox_files(store, str(inbox / "b.csv")) == (str(inbox), ["b.csv"])
    assert inbox_files(store, str(inbox / "notes.txt")) == (str(inbox), ["notes.txt"])  # named by the user
    inside = LocalObjectStore(root=str(tmp_path))  # an inbox inside the store's own folder
    assert inbox_files(inside, str(inbox)) == (str(inbox), ["b.csv", "2024/a.CSV"])
    assert inbox_files(inside, "inbox") == ("inbox", ["b.csv", "2024/a.CSV"])
    (inbox / "empty").mkdir()
    for empty in (inbox / "empty", tmp_path / "missing"):
        with pytest.raises(PipelineError, match=f"{empty}: no CSV file found there"):
            inbox_files(store, str(empty))


@pytest.fixture(scope="module")
def run(tmp_path_factory, addressed_inbox):
    home, (inbox, _) = tmp_path_factory.mktemp("home"), addressed_inbox
    options = RunOptions(home=str(home), input_location=str(inbox), num_results=4)
    return home, options, run_pipeline(options)


def table(home, name: str) -> pd.DataFrame:
    folder = home / "assets" / name
    if folder.is_dir():
        return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))], ignore_index=True)
    return pd.read_parquet(home / "assets" / f"{name}.parquet")


def test_the_whole_graph_runs_per_file_catalog_and_segment(run):
    home, _, summary = run
    assert summary["files"] == ["catalog.csv", "catalog-users.csv"]
    assert summary["counts"]["users"] == 150 and summary["counts"]["reviews"] == 900
    assert "general" in summary["segments"] and len(summary["segments"]) > 2
    assert sum(s["users"] for s in summary["segments"].values()) == summary["counts"]["users"]
    assert {p.name for p in (home / "emails").iterdir()} == set(summary["segments"])


def test_every_user_gets_n_unseen_recommendations_and_one_email(run):
    home, _, _ = run
    users, interactions, recs = table(home, "users"), table(home, "interactions"), table(home, "recommendations")
    assert set(recs["USER_ID"]) == set(users["user_id"])
    assert recs.groupby("USER_ID").size().eq(4).all()
    seen = recs.merge(interactions, on=["USER_ID", "ITEM_ID"])
    assert seen.empty
    emails = sorted((home / "emails").glob("*/*.eml"))
    assert len(emails) == len(users)
    message = email.message_from_bytes(emails[0].read_bytes(), policy=default)
    assert message.get_content_type() == "multipart/alternative"
    csv = pd.read_csv(home / "recommendations.csv")
    assert list(csv.columns) == ["USER_ID", "RANK", "ITEM_ID", "SCORE"] and len(csv) == len(recs)


def test_each_email_goes_to_the_address_the_users_file_gives(run, addressed_inbox):
    home, _, _ = run
    _, written = addressed_inbox
    users = table(home, "users").set_index("user_id")
    assert users["email"].to_dict() == addresses_of(written).to_dict() and users["consent"].eq("opted_in").all()
    to = {
        p.name: [a.addr_spec for a in email.message_from_bytes(p.read_bytes(), policy=default)["To"].addresses]
        for p in (home / "emails").glob("*/*.eml")
    }
    assert to == {name: [address] for name, address in zip(email_filename(users.index.to_series()), users["email"])}


def test_profile_store_holds_products_users_and_recommendations(run):
    home, _, _ = run
    with sqlite3.connect(home / "profiles.sqlite") as db:
        counts = {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("products", "users", "recommendations")
        }
    assert counts == {
        "products": len(table(home, "products")),
        "users": len(table(home, "users")),
        "recommendations": len(table(home, "recommendations")),
    }


def test_recommender_reports_personalize_metrics_and_beats_popularity(run):
    _, _, summary = run
    metrics = summary["offline_metrics"]
    assert set(metrics["model"]) == {
        "coverage",
        "mean_reciprocal_rank_at_25",
        "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10",
        "normalized_discounted_cumulative_gain_at_25",
        "precision_at_5",
        "precision_at_10",
        "precision_at_25",
    }
    ndcg = "normalized_discounted_cumulative_gain_at_10"
    assert metrics["model"][ndcg] > metrics["popularity-count"][ndcg]


def emails_of(home) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted((home / "emails").glob("*/*.eml"))}


def test_rematerializing_gives_identical_outputs_and_no_duplicates(run):
    home, options, _ = run
    before_csv = (home / "recommendations.csv").read_bytes()
    before_emails = emails_of(home)
    before_tables = {
        name: table(home, name) for name in ("products", "reviews", "interactions", "review_sentiment", "rejected_rows")
    }
    before_parquet = {p: p.read_bytes() for p in sorted((home / "assets").rglob("*.parquet"))}
    run_pipeline(options)
    assert (home / "recommendations.csv").read_bytes() == before_csv
    assert emails_of(home) == before_emails
    for name, frame in before_tables.items():
        pd.testing.assert_frame_equal(table(home, name), frame)
    assert {p: p.read_bytes() for p in sorted((home / "assets").rglob("*.parquet"))} == before_parquet
    with sqlite3.connect(home / "profiles.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM recommendations").fetchone()[0] == len(table(home, "recommendations"))


def test_rerunning_one_segment_leaves_the_other_segments_untouched(run):
    home, options, summary = run
    segment = next(name for name in summary["segments"] if name != "general")
    others = {p: p.stat().st_mtime_ns for p in (home / "emails").glob("*/*.eml") if p.parent.name != segment}
    mine = {p.name for p in (home / "emails" / segment).glob("*.eml")}
    rerun = run_pipeline(options, segment=segment)
    assert list(rerun["segments"]) == [segment]
    assert {p: p.stat().st_mtime_ns for p in (home / "emails").glob("*/*.eml") if p.parent.name != segment} == others
    assert {p.name for p in (home / "emails" / segment).glob("*.eml")} == mine
    assert rerun["counts"]["recommendations"] == len(pd.read_csv(home / "recommendations" / f"{segment}.csv"))
    assert rerun["counts"]["recommendations"] < summary["counts"]["recommendations"]
    assert (rerun["emails_written"], rerun["emails_kept"]) == (0, len(mine))  # nothing changed: every email is kept


def test_an_unknown_segment_is_a_clear_error(run, capsys):
    home, options, _ = run
    assert main(["run", "--input", options.input_location, "--home", str(home), "--segment", "nope"]) == 2
    assert "no segment 'nope'; the segments are: " in capsys.readouterr().err


def test_cli_run_writes_summary_and_outputs(tmp_path, addressed_inbox, capsys):
    inbox, _ = addressed_inbox
    assert main(["run", "--input", str(inbox), "--home", str(tmp_path), "--num-results", "3"]) == 0
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    assert summary["counts"]["recommendations"] == 3 * summary["counts"]["users"]
    assert summary["emails_written"] == summary["counts"]["users"]
    out = capsys.readouterr().out
    assert "normalized_discounted_cumulative_gain_at_10" in out and "emails written" in out


def test_cli_run_on_a_bad_file_names_it_and_exits_non_zero(tmp_path, capsys):
    bad = tmp_path / "broken.csv"
    bad.write_text("product_id;name\nB1;x\n")
    assert main(["run", "--input", str(bad), "--home", str(tmp_path / "home")]) == 2
    assert "broken.csv: the header fits no format (kaggle needs product_id, " in capsys.readouterr().err
    assert main(["run", "--input", str(bad), "--home", str(tmp_path / "home"), "--format", "kaggle"]) == 2
    missing = "broken.csv: not a kaggle file: required columns missing: product_id, product_name, "
    assert missing in capsys.readouterr().err


def test_cli_run_takes_its_settings_from_the_environment_unless_flags_say_otherwise(tmp_path, monkeypatch, capsys):
    chosen = []

    def record_options(options, segment=None, verbose=False):
        chosen.append((options.input_location, options.home, options.num_results, options.sentiment_workers))
        raise PipelineError("recorded")

    monkeypatch.setattr(runner, "run_pipeline", record_options)
    variables = {
        "RECSYS_INPUT": str(tmp_path / "inbox"),
        "RECSYS_HOME": str(tmp_path / "home"),
        "RECSYS_NUM_RESULTS": "2",
        "RECSYS_SENTIMENT_WORKERS": "1",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    assert main(["run", "--input", "other.csv", "--home", "elsewhere", "--num-results", "7", "--workers", "0"]) == 2
    for name in variables:
        monkeypatch.delenv(name)
    assert main(["run"]) == 2
    assert chosen == [
        (str(tmp_path / "inbox"), str(tmp_path / "home"), 2, 1),
        ("other.csv", "elsewhere", 7, 0),
        ("data/inbox", ".recsys", 5, 0),
    ]
    assert capsys.readouterr().err.count("recsys run failed: recorded") == 3


@pytest.mark.parametrize(
    ("variables", "flags", "message"),
    [
        ({"RECSYS_NUM_RESULTS": "x"}, [], "RECSYS_NUM_RESULTS='x': expected a whole number"),
        ({}, ["--num-results", "0"], "num_results (RECSYS_NUM_RESULTS, --num-results) is 0: expected 1 or more"),
        ({"RECSYS_SENTIMENT_WORKERS": "-2"}, [], "sentiment_workers (RECSYS_SENTIMENT_WORKERS, --workers) is -2"),
    ],
)
def test_cli_run_names_a_bad_setting_and_exits_2(tmp_path, monkeypatch, capsys, variables, flags, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["run", "--home", str(tmp_path), *flags]) == 2
    assert f"recsys run failed: {message}" in capsys.readouterr().err


def test_cli_sample_writes_the_amazon_format(tmp_path):
    out = tmp_path / "s.csv"
    assert (
        main(["sample", "--out", str(out), "--products", "20", "--users", "30", "--reviews", "100", "--seed", "1"]) == 0
    )
    assert pd.read_csv(out).shape[0] == 20


def test_the_real_amazon_export_gets_recommendations_for_every_user_and_no_email_without_addresses(tmp_path):
    path = shared_file("amazon-sales", "amazon.csv")
    assert main(["run", "--input", path, "--home", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    users = summary["counts"]["users"]
    assert users > 9000
    assert summary["counts"]["recommendations"] == 5 * users
    assert (summary["emails_written"], summary["skipped_reasons"]) == (0, {"no address": users})
    assert not list((tmp_path / "emails").glob("*/*.eml"))


def reviews_by(users: list[str], like: pd.Series, products: int) -> pd.DataFrame:
    """`products` new products like the catalog row `like`, each reviewed by every one of `users`."""
    joined = ",".join(users)
    reviews = {
        "user_id": joined,
        "user_name": joined,
        "review_title": ",".join(["Great"] * len(users)),
        "review_content": ",".join(["Works well"] * len(users)),
    }
    return pd.DataFrame(
        [
            {**like.to_dict(), **reviews, "product_id": f"NEW{i:03d}", "review_id": ",".join(f"R{i}{u}" for u in users)}
            for i in range(products)
        ]
    )


@pytest.fixture
def inbox_run(tmp_path, sample_csv):
    """A full run on an inbox folder of its own (holding the sample as a.csv, its users file as a-users.csv):
    (home, inbox, options)."""
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    inbox.mkdir()
    (inbox / "a.csv").write_bytes(sample_csv.read_bytes())
    write_users_file(inbox / "a.csv", inbox)
    options = RunOptions(home=str(home), input_location=str(inbox), num_results=3)
    run_pipeline(options)
    return home, inbox, options


def test_a_segment_run_after_customers_moved_lists_each_customer_once_with_one_email(inbox_run):
    home, inbox, options = inbox_run
    segments = table(home, "customer_segments")
    movers = segments.loc[segments["segment"] == "home-kitchen", "user_id"].head(5).tolist()
    catalog = pd.read_csv(inbox / "a.csv", dtype=str, keep_default_na=False)
    reviews_by(movers, catalog[catalog["category"].str.startswith("Electronics")].iloc[0], 10).to_csv(
        inbox / "b.csv", index=False
    )
    run_pipeline(options, segment="electronics")
    segments = table(home, "customer_segments")
    assert set(segments.loc[segments["user_id"].isin(movers), "segment"]) == {"electronics"}
    csv = pd.read_csv(home / "recommendations.csv", dtype=str)
    assert not csv.duplicated(["USER_ID", "RANK"]).any() and csv.groupby("USER_ID").size().eq(3).all()
    emails = pd.Series([p.relative_to(home / "emails") for p in (home / "emails").glob("*/*.eml")])
    assert not emails.map(lambda p: p.stem).duplicated().any()
    mover_files = set(email_filename(pd.Series(movers)))
    assert sorted(str(p) for p in emails if p.name in mover_files) == sorted(f"electronics/{f}" for f in mover_files)


def test_a_segment_run_on_a_fresh_home_lists_only_what_was_served(tmp_path, sample_csv, capsys):
    assert main(["run", "--input", str(sample_csv), "--home", str(tmp_path), "--segment", "general"]) == 0
    segments = table(tmp_path, "customer_segments")
    csv = pd.read_csv(tmp_path / "recommendations.csv", dtype=str)
    assert set(csv["USER_ID"]) == set(segments.loc[segments["segment"] == "general", "user_id"])
    assert [p.name for p in (tmp_path / "emails").iterdir()] == ["general"]
    assert "1 segments (general)" in capsys.readouterr().out


def test_a_full_run_clears_the_outputs_of_segments_and_customers_the_data_no_longer_has(inbox_run):
    home, inbox, options = inbox_run
    catalog = pd.read_csv(inbox / "a.csv", dtype=str, keep_default_na=False)
    newcomers = [f"NEWUSER{i}" for i in range(4)]
    like = catalog.iloc[0].copy()
    like["category"] = "Garden&Outdoors|Plants"
    reviews_by(newcomers, like, 3).to_csv(inbox / "b.csv", index=False)
    write_users_file(inbox / "b.csv", inbox)
    assert "garden-outdoors" in run_pipeline(options)["segments"]
    for name in ("b.csv", "b-users.csv"):  # the newcomers and their segment leave the data
        (inbox / name).unlink()
    summary = run_pipeline(options)
    current = set(summary["segments"])
    assert "garden-outdoors" not in current
    assert {p.name for p in (home / "emails").iterdir()} == current
    for folder in ("recommendations", "email_inputs", "assets/recommendations", "assets/emails"):
        assert {p.stem for p in (home / folder).iterdir()} == current, folder
    users = set(table(home, "users")["user_id"])
    assert {p.name for p in (home / "emails").glob("*/*.eml")} == set(email_filename(pd.Series(sorted(users))))
    with sqlite3.connect(home / "profiles.sqlite") as db:
        served = pd.read_sql("SELECT user_id FROM recommendations", db)["user_id"]
    assert set(served) == users and len(served) == 3 * len(users)
