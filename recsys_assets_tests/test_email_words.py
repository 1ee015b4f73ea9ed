"""The words of an email: greeting, subject, preview text, grouped reasons; and the frame of its design."""

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_assets.emails.greeting import GENERIC_GREETING, first_names, greetings
from recsys_assets.emails.render import email_items, readable_names, render_emails, template_environment
from recsys_assets.emails.subject import PREHEADER_CHARS, SUBJECT_CHARS, cut_at_word, preheader_line, subject_line

from .test_emails import products, users


@pytest.mark.parametrize(
    "name, first",
    [
        ("PRIYA SHARMA", "Priya"),
        ("rahul", "Rahul"),
        ("McDonald Ray", "McDonald"),
        ("d'souza alan", "D'Souza"),
        ("Dr. Asha Rao", "Asha"),
        ("Aman.MD", "Aman"),
        ("𝕵𝖆𝖙𝖎𝖓 Chadha", "Jatin"),
        ("Anuj Dhingra (Gadget Gig)", "Anuj"),
        ("अभिनव", "अभिनव"),
    ],
)
def test_a_persons_name_is_greeted_by_its_first_name_in_sensible_capitals(name, first):
    assert first_names(pd.Series([name])).values.tolist() == [[first, "person"]]


@pytest.mark.parametrize(
    "name, kind",
    [
        ("Amazon Customer", "placeholder"),
        ("Kindle Customer", "placeholder"),
        ("Placeholder", "placeholder"),
        ("Guest", "placeholder"),
        ("Customer", "placeholder"),
        ("Verified Buyer", "placeholder"),
        ("", "blank"),
        ("Sharma Traders Pvt Ltd", "company"),
        ("Biswas Enterprises", "company"),
        ("SATYAM STORES", "company"),
        ("Inspyra Technologies", "company"),
        ("A", "unreadable"),
        ("🤘🏻🤘🏻", "unreadable"),
        ("ᴀᴅᴡᴀɪᴛʜ", "unreadable"),
        ("<script>alert(1)</script>", "unreadable"),
        ("xyz123", "handle"),
        ("8826277722", "handle"),
        ("S_Sarkar", "handle"),
        ("K.R. Kotian", "initials"),
        ("P R Vedprakash", "initials"),
    ],
)
def test_placeholders_companies_and_unreadable_names_get_the_generic_greeting(name, kind):
    assert first_names(pd.Series([name])).values.tolist() == [["", kind]]
    assert greetings(first_names(pd.Series([name]))["first_name"]).tolist() == [GENERIC_GREETING]


def test_each_distinct_name_is_classified_once_and_returned_in_place():
    names = pd.Series(["asha", "Amazon Customer", "asha"], index=[7, 8, 9])
    assert first_names(names)["first_name"].to_dict() == {7: "Asha", 8: "", 9: "Asha"}


words = st.text(st.characters(categories=("L",)), min_size=1, max_size=18)


@settings(max_examples=200, deadline=None)
@given(first=st.one_of(st.just(""), words), names=st.lists(st.lists(words, min_size=1, max_size=20), min_size=1))
def test_a_subject_fits_and_never_cuts_a_word(first, names):
    product_names = [" ".join(name) for name in names]
    subject = subject_line(first[:24], product_names)
    assert 0 < len(subject) <= SUBJECT_CHARS and not subject.endswith("…")
    top_words = set(product_names[0].split())
    named = subject.split(": ", 1)[1].removesuffix(f" and {len(names) - 1} more") if ": " in subject else ""
    assert all(word in top_words for word in named.split())


def test_the_subject_names_the_top_pick_and_falls_back_to_a_count():
    long = "Ambrane Unbreakable 60W Fast Charging Braided Type C Cable for Smartphones"
    assert subject_line("Priya", [long, "Mug"]) == "Priya, picked for you: Ambrane Unbreakable 60W and 1 more"
    assert subject_line("", ["Mug"]) == "Picked for you: Mug"
    assert subject_line("Priya", ["Supercalifragilisticexpialidociousandmorestillmorewords", "x"]) == (
        "Priya, 2 picks for you"
    )
    assert cut_at_word("Cable with Mic", 11) == "Cable"


def test_the_preview_text_names_the_reason_and_the_picks_within_its_length():
    line = preheader_line("Because you reviewed Bedsheet", ["Steel Bottle", "Mug", "Lamp"], "Shop")
    assert line == "Because you reviewed Bedsheet: Steel Bottle, Mug and Lamp"
    many = preheader_line("Picked for you", ["Wireless Bluetooth Headphones Deluxe"] * 5, "Shop")
    assert len(many) <= PREHEADER_CHARS and many.endswith("and 3 more")
    assert preheader_line("Picked for you", ["Mug"], "Shop") == "Picked for you: Mug, from Shop"


def grouped_recommendations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "USER_ID": ["U1"] * 3,
            "RANK": [1, 2, 3],
            "ITEM_ID": ["P1", "P3", "P2"],
            "SCORE": [0.9, 0.5, 0.4],
            "SOURCE": ["als", "popularity", "als"],
            "REASON_ITEM_ID": ["P3", None, "P3"],
            "REASON_CATEGORY": [None, "Home&Kitchen", None],
        }
    )


def test_picks_that_share_a_reason_are_grouped_under_it_once():
    [email], _ = render_emails(email_items(grouped_recommendations(), products()), users(), template_environment())
    for part in (email.text.split("\n", 1)[1], email.html.split("</div>", 1)[1]):  # after the preview text
        assert part.count("Because you reviewed Cotton Bedsheet:") == 1 and part.count("Popular in Home") == 1
        assert (
            part.index("Steel Water")
            < part.index("Mug")
            < part.index("Popular in Home")
            < part.rindex("Cotton Bedsheet")
        )


def test_the_preview_text_leads_both_parts_and_the_footer_is_in_both():
    [email], _ = render_emails(email_items(grouped_recommendations(), products()), users(), template_environment())
    assert email.text.splitlines()[0] == email.preheader != ""
    assert re.search(r"<body[^>]*>\s*<div style=\"display: none;[^\"]*\">" + re.escape("Because you"), email.html)
    for part in (email.text, email.html):
        assert "1 Example Street" in part and "You get this email as a customer" in part
        assert "https://shop.example/unsubscribe?customer=u1." in part


def test_the_html_is_responsive_and_every_image_has_its_product_name_and_size():
    [email], _ = render_emails(email_items(grouped_recommendations(), products()), users(), template_environment())
    html = email.html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<meta name="color-scheme" content="light dark">' in html
    images = re.findall(r"<img [^>]*>", html)
    assert images and all(re.search(r'alt="[^"]+"', i) and 'width="' in i and 'height="' in i for i in images)
    assert 'alt="Steel Water Bottle 1L"' in html and "max-width: 600px" in html
    assert html.count(">View product</a>") == 2  # P2's javascript: link is dropped, so it has no button
    assert min(int(size) for size in re.findall(r"font-size: (\d+)px", html)) >= 14


def test_names_in_capitals_only_are_shown_in_title_case_and_others_as_they_are():
    names = pd.Series(["SET OF 72 RETROSPOT PAPER  DOILIES", "CREAM HANGING HEART T-LIGHT HOLDER", "iPhone 15 Case"])
    assert readable_names(names).tolist() == [
        "Set of 72 Retrospot Paper Doilies",
        "Cream Hanging Heart T-Light Holder",
        "iPhone 15 Case",
    ]
