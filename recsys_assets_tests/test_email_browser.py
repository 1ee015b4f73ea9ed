"""A rendered email as a phone and a desktop show it: headless Chromium at 375 and 700 px, images blocked.

`make screenshots` copies the screenshots this test takes into docs/ (email-375.png, email-700.png).
"""

import json
import shutil
import subprocess
from html import escape, unescape
from pathlib import Path

import pandas as pd
import pytest

from recsys_assets.catalog.tables import build_users
from recsys_assets.emails.frame import Brand, unsubscribe_link
from recsys_assets.emails.render import email_items, render_emails, template_environment
from recsys_assets.formats.kaggle import read_kaggle

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SAMPLE = Path(__file__).parents[1] / "data" / "inbox" / "sample.csv"
BRAND = Brand(
    shop_name="Example Shop",
    logo_url="https://shop.example/logo.png",
    postal_address="Example Shop Ltd, 1 Example Street, Demo City 00000",
)
# The email in a frame exactly WIDTH px wide (a dumped DOM's own window is at least 500 px wide); once it has loaded,
# what it shows is written into the page, and read back from the DOM Chromium dumps.
PROBE = """<!DOCTYPE html><html><body style="margin: 0">
<iframe id="email" style="border: 0; width: WIDTHpx; height: 900px" srcdoc="EMAIL"></iframe>
<script>
document.getElementById("email").addEventListener("load", event => {
  const doc = event.target.contentDocument;
  const link = [...doc.querySelectorAll("a")].find(a => a.href === UNSUBSCRIBE);
  const box = link ? link.getBoundingClientRect() : null;
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    width: doc.documentElement.clientWidth,
    scrollWidth: doc.documentElement.scrollWidth,
    scrollHeight: doc.documentElement.scrollHeight,
    viewport: (doc.querySelector('meta[name="viewport"]') || {}).content || "",
    alts: [...doc.images].map(img => img.getAttribute("alt")),
    text: doc.body.innerText,
    unsubscribeShown: !!box && box.width > 0 && box.height > 0 &&
      doc.defaultView.getComputedStyle(link).visibility === "visible",
  });
  document.body.append(probe);
});
</script></body></html>"""


def sample_email() -> tuple[str, str]:
    """The HTML of one real email from the bundled sample's catalog (its first reviewer, five of the catalog's most
    reviewed products, three for a reviewed product and two for its category) and its unsubscribe link."""
    tables = read_kaggle(SAMPLE.read_bytes(), SAMPLE.name)
    products, reviews = tables.products, tables.reviews
    users = build_users(reviews, tables.events, tables.customers, products)
    user = reviews.iloc[0]
    picks = products[products["product_id"] != user["product_id"]].nlargest(5, "rating_count")
    liked = products.set_index("product_id").loc[user["product_id"]]
    recommendations = pd.DataFrame(
        {
            "USER_ID": user["user_id"],
            "RANK": range(1, 6),
            "ITEM_ID": picks["product_id"].to_numpy(),
            "SCORE": [0.9, 0.8, 0.7, 0.6, 0.5],
            "SOURCE": "als",
            "REASON_ITEM_ID": [user["product_id"]] * 3 + [None] * 2,
            "REASON_CATEGORY": [None] * 3 + [liked["leaf_category"]] * 2,
        }
    )
    [rendered], failures = render_emails(
        email_items(recommendations, products), users, template_environment(), brand=BRAND
    )
    assert failures == []
    return rendered.html, unsubscribe_link(BRAND, rendered.customer_key)


def chromium(page: Path, width: int, height: int, *args: str) -> str:
    """Run headless Chromium on `page` at width x height with no network (images blocked, as many clients do)."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--window-size={width},{height}",
        "--virtual-time-budget=3000",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout  # noqa: S603


@pytest.fixture(scope="module")
def email_page(tmp_path_factory) -> tuple[Path, str, str]:
    if CHROMIUM is None:
        pytest.skip("no headless Chromium (chromium) on this machine")
    html, link = sample_email()
    page = tmp_path_factory.mktemp("browser") / "email.html"
    page.write_text(html)
    return page, html, link


@pytest.mark.parametrize("width", [375, 700])
def test_the_email_fits_the_screen_names_every_image_and_shows_its_footer(email_page, width, tmp_path):
    page, html, link = email_page
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(
        PROBE.replace("WIDTH", str(width)).replace("UNSUBSCRIBE", json.dumps(link)).replace("EMAIL", escape(html))
    )
    dom = chromium(probe_page, width, 900, "--dump-dom")
    probe = json.loads(unescape(dom.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]))
    chromium(page, width, min(probe["scrollHeight"], 4000), f"--screenshot={tmp_path / f'email-{width}.png'}")
    assert (tmp_path / f"email-{width}.png").stat().st_size > 0 and probe["width"] == width
    assert "width=device-width" in probe["viewport"]
    assert probe["scrollWidth"] <= width, f"the email is {probe['scrollWidth']} px wide on a {width} px screen"
    assert probe["alts"] and all(alt and alt.strip() for alt in probe["alts"]), probe["alts"]
    assert BRAND.postal_address in probe["text"] and probe["unsubscribeShown"]
