"""Untrusted text and secrets: spreadsheets, emails, logs and outputs; bandit and the CloudFormation template."""

import json
import re
import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pandas as pd
import pytest
from cfnlint.decode import cfn_yaml
from dagster import DagsterInstance

from recsys_assets.cli import run as runner
from recsys_assets.emails.frame import Brand, unsubscribe_link
from recsys_assets.emails.recipients import customer_keys
from recsys_assets.emails.render import email_filename, email_items, render_emails, template_environment
from recsys_assets.environment import RunOptions
from recsys_assets.resources.object_store import LocalObjectStore, neutralize_formulas
from recsys_assets.sample.generator import generate_catalog, write_catalog

from .conftest import addresses_of, write_users_file

ROOT = Path(__file__).parent.parent
FAKE_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEKEYFORTESTS7",
    "AWS_SECRET_ACCESS_KEY": "fakeSecretKeyForTests/NeverLogged+0123456789",
    "AWS_SESSION_TOKEN": "FakeSessionTokenForTestsNeverLogged",
}
FORMULA_USER = "=HYPERLINK(1)"
SCRIPT = "<script>alert(1)</script>"


def test_formula_cells_are_neutralized_for_spreadsheets_and_numbers_stay_numbers():
    frame = pd.DataFrame({"USER_ID": ["=1+1", "+x", "-y", "@z", "\tq", "ok"], "SCORE": [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0]})
    safe = neutralize_formulas(frame)
    assert safe["USER_ID"].tolist() == ["'=1+1", "'+x", "'-y", "'@z", "'\tq", "ok"]
    assert safe["SCORE"].tolist() == frame["SCORE"].tolist()


def test_machine_read_csvs_keep_values_and_spreadsheet_csvs_are_neutralized(tmp_path):
    store, frame = LocalObjectStore(root=str(tmp_path)), pd.DataFrame({"USER_ID": ["=1+1"], "SCORE": [-0.5]})
    store.write_csv("machine.csv", frame)
    store.write_csv("people.csv", frame, for_spreadsheets=True)
    assert (tmp_path / "machine.csv").read_text() == "USER_ID,SCORE\n=1+1,-0.5\n"
    assert (tmp_path / "people.csv").read_text() == "USER_ID,SCORE\n'=1+1,-0.5\n"


def test_emails_link_only_to_the_products_own_http_url_and_image():
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2"],
            "product_name": [SCRIPT, "Mug"],
            "discounted_price": [10.0, 20.0],
            "actual_price": [10.0, 20.0],
            "discount_percentage": [0.0, 0.0],
            "rating": [4.0, 4.0],
            "product_link": ["https://shop.example/P1", " JavaScript:alert(1)"],
            "img_link": ["https://img.example/1.jpg", "data:image/svg+xml,<svg onload=alert(1)>"],
        }
    )
    recommendations = pd.DataFrame(
        {
            "USER_ID": ["U1", "U1"],
            "RANK": [1, 2],
            "ITEM_ID": ["P1", "P2"],
            "SCORE": [1.0, 0.5],
            "SOURCE": ["als"] * 2,
            "REASON_ITEM_ID": ["P2", None],
            "REASON_CATEGORY": [None, SCRIPT],
        }
    )
    users = pd.DataFrame({"user_id": ["U1"], "user_name": [SCRIPT]})
    [rendered], _ = render_emails(email_items(recommendations, products), users, template_environment())
    assert (
        "<script" not in rendered.html and rendered.html.count("&lt;script&gt;") == 5
    )  # title (product), preheader, image alt, product, reason; the name is not greeted
    assert "Hi there," in rendered.html
    assert re.findall(r'(?:href|src)="([^"]*)"', rendered.html) == [
        "https://img.example/1.jpg",
        "https://shop.example/P1",
        unsubscribe_link(Brand(), customer_keys(pd.Series(["U1"])).iloc[0]).replace("&", "&amp;"),
    ]
    assert "url(" not in rendered.html and "@import" not in rendered.html


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A run on an inbox of a small catalog with a formula as a user id, a script as a product name, one bad row,
    and its users file; fake AWS credentials in the environment and a Dagster instance on disk (to read its event
    log): (home, instance folder, summary, the users file's table)."""
    folder = tmp_path_factory.mktemp("hostile")
    catalog = generate_catalog(n_products=30, n_users=60, n_reviews=300, seed=5)
    catalog.loc[0, "user_id"] = FORMULA_USER + catalog.loc[0, "user_id"][catalog.loc[0, "user_id"].index(",") :]
    catalog.loc[1, "product_name"] = SCRIPT
    catalog = pd.concat([catalog, catalog.iloc[[2]].assign(product_id="BAD1", rating="|")], ignore_index=True)
    inbox = folder / "inbox"
    inbox.mkdir()
    write_catalog(catalog, inbox / "hostile.csv")
    users = write_users_file(inbox / "hostile.csv", inbox)
    home, instance_dir = folder / "home", folder / "dagster"
    instance_dir.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_SECRETS.items():
            patch.setenv(name, value)
        patch.setattr(
            runner.DagsterInstance, "ephemeral", staticmethod(lambda: DagsterInstance.local_temp(str(instance_dir)))
        )
        options = RunOptions(home=str(home), input_location=str(inbox), num_results=3)
        summary = runner.run_pipeline(options, verbose=True)
    return home, instance_dir, summary, users


def test_quarantine_reasons_are_counted_in_the_run_summary(hostile_run):
    _, _, summary, _ = hostile_run
    assert summary["counts"]["quarantined_rows"] == 1
    assert summary["quarantine_reasons"] == {"rating is not a number": 1}


def test_a_formula_user_id_is_neutralized_in_spreadsheet_csvs_only(hostile_run):
    home, _, _, _ = hostile_run
    people = pd.read_csv(home / "recommendations.csv", dtype={"USER_ID": str})
    assert "'" + FORMULA_USER in set(people["USER_ID"]) and FORMULA_USER not in set(people["USER_ID"])
    assert pd.api.types.is_float_dtype(people["SCORE"])
    segment_csvs = "".join(p.read_text() for p in (home / "recommendations").glob("*.csv"))
    assert f"\n'{FORMULA_USER}," in segment_csvs
    interactions = pd.read_csv(home / "personalize" / "interactions.csv", dtype={"USER_ID": str})
    assert FORMULA_USER in set(interactions["USER_ID"])  # Personalize would import the quote


def test_a_script_in_a_product_name_is_text_in_every_email(hostile_run):
    home, _, _, _ = hostile_run
    htmls = [
        message_from_bytes(p.read_bytes()).get_payload(1).get_payload(decode=True).decode()
        for p in home.glob("emails/*/*.eml")
    ]
    assert htmls and not any("<script" in html for html in htmls)


def test_every_email_goes_to_its_own_customers_address_only_even_a_formula_ids(hostile_run):
    home, _, _, written = hostile_run
    users = pd.read_parquet(home / "assets" / "users.parquet")["user_id"]
    assert any(u.startswith(FORMULA_USER) for u in users)
    own = dict(zip(email_filename(users), addresses_of(written).loc[users]))
    files = list(home.glob("emails/*/*.eml"))
    messages = {p.name: message_from_bytes(p.read_bytes(), policy=default) for p in files}
    assert len(files) == len(messages) == len(users)
    assert {name: [a.addr_spec for a in m["To"].addresses] for name, m in messages.items()} == {
        name: [address] for name, address in own.items()
    }
    assert not any("Cc" in m or "Bcc" in m for m in messages.values())


def test_no_secret_reaches_an_output_the_summary_or_the_event_log(hostile_run, capsys):
    home, instance_dir, _, _ = hostile_run
    files = [p for p in [*home.rglob("*"), *instance_dir.rglob("*")] if p.is_file()]
    assert any(p.suffix == ".db" for p in files) and (home / "run_summary.json") in files
    instance = DagsterInstance.local_temp(str(instance_dir))
    events = "".join(str(e) for run in instance.get_runs() for e in instance.all_logs(run.run_id))
    assert "STEP_SUCCESS" in events
    haystacks = {str(p): p.read_bytes() for p in files} | {
        "event log": events.encode(),
        "console": capsys.readouterr().err.encode(),
    }
    for secret in FAKE_SECRETS.values():
        assert [where for where, data in haystacks.items() if secret.encode() in data] == []


def test_the_dagster_ui_binds_to_localhost():
    dev = re.search(r"^dev:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    assert "dg dev" in dev and "--host 127.0.0.1" in dev


def test_bandit_finds_nothing_and_every_exception_names_its_test():
    bandit = Path(sys.executable).parent / "bandit"
    result = subprocess.run(
        [str(bandit), "-q", "-r", str(ROOT / "recsys_assets"), "-f", "json"], capture_output=True, text=True
    )
    report = json.loads(result.stdout)
    assert report["results"] == [] and result.returncode == 0
    sources = "".join(p.read_text() for p in (ROOT / "recsys_assets").rglob("*.py"))
    assert re.findall(r"# nosec(?! B\d{3})", sources) == []


def test_the_cloudformation_template_allows_no_wildcard_action_and_encrypts_everything():
    template = cfn_yaml.load(str(ROOT / "deployment" / "cloudformation.yaml"))

    def statements(node):
        if isinstance(node, dict):
            if "Effect" in node and "Action" in node:
                yield node
            for value in node.values():
                yield from statements(value)
        elif isinstance(node, list):
            for value in node:
                yield from statements(value)

    allowed = [
        s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        for s in statements(template)
        if s["Effect"] == "Allow"
    ]
    assert allowed and [a for actions in allowed for a in actions if "*" in a] == []
    resources = template["Resources"].values()
    buckets = [r["Properties"] for r in resources if r["Type"] == "AWS::S3::Bucket"]
    tables = [r["Properties"] for r in resources if r["Type"] == "AWS::DynamoDB::Table"]
    assert buckets and all(b["BucketEncryption"]["ServerSideEncryptionConfiguration"] for b in buckets)
    assert all(b["PublicAccessBlockConfiguration"]["BlockPublicAcls"] for b in buckets)
    assert len(tables) == 4 and all(t["SSESpecification"]["SSEEnabled"] for t in tables)
