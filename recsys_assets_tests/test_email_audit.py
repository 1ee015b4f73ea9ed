"""The sendability audit: a compliant email has no problem, and each thing a sender would refuse is named, on the
smallest email that shows it."""

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from markupsafe import escape

from recsys_assets.emails.audit import email_problems, read_eml

ADDRESS = "Example Shop Ltd, 1 Example Street, Demo City"
LINK = "https://shop.example/unsubscribe?customer=u1&token=0f3a"
LIST_UNSUBSCRIBE = f"<{LINK}>, <mailto:unsubscribe@shop.example?subject=unsubscribe%20u1>"
TEXT = f"Hi Priya,\n\n1. Steel Bottle ₹1,099\n\n{ADDRESS}\nUnsubscribe: {LINK}\n"
HTML = (
    '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>'
    '<body><p>Hi Priya,</p><img src="https://img.example/1.jpg" alt="Steel Bottle" width="88">'
    f'<p>{escape(ADDRESS)}</p><a href="{escape(LINK)}">Unsubscribe</a></body></html>'
)
HEADERS = {
    "From": "Example Shop <news@shop.example>",
    "To": "Priya <u1@customers.example>",
    "Subject": "Priya, a steel bottle for your desk",
    "Date": "Thu, 15 Jan 2026 09:00:00 +0000",
    "Message-ID": "<0f3a@shop.example>",
    "List-Unsubscribe": LIST_UNSUBSCRIBE,
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def eml(text=TEXT, html=HTML, **headers) -> bytes:
    """A multipart/alternative message as the email package writes it; a header given as None is left out."""
    message = MIMEMultipart("alternative")
    for name, value in {**HEADERS, **{k.replace("_", "-"): v for k, v in headers.items()}}.items():
        if value is not None:
            message[name] = value
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message.as_bytes()


def problems(data: bytes) -> list[str]:
    return email_problems(read_eml(data), ADDRESS)


def test_a_compliant_email_has_no_problem_and_its_parts_read_back_as_written():
    email = read_eml(eml(Subject="Priya, ₹1,099 bottles…ok"))
    assert (email.text, email.html, email.subject) == (TEXT, HTML, "Priya, ₹1,099 bottles…ok")
    assert problems(eml()) == []


def test_the_given_html_is_checked_instead_of_decoding_the_html_part_again():
    assert email_problems(read_eml(eml(), html=HTML.replace("viewport", "x")), ADDRESS) == ["no viewport meta"]


@pytest.mark.parametrize("name", ["Date", "From", "To", "Subject", "Message-ID"])
def test_a_missing_required_header_is_named(name):
    assert f"no {name}" in problems(eml(**{name: None}))


@pytest.mark.parametrize(
    "value, problem",
    [
        (f"<{LINK}>", "List-Unsubscribe without a mailto"),
        ("<mailto:unsubscribe@shop.example>", "List-Unsubscribe without an https URL"),
        (LIST_UNSUBSCRIBE.replace("https://", "http://"), "List-Unsubscribe without an https URL"),
    ],
)
def test_list_unsubscribe_needs_an_https_url_and_a_mailto(value, problem):
    assert problem in problems(eml(List_Unsubscribe=value))


@pytest.mark.parametrize("value", [None, "List-Unsubscribe=OneClick", "One-Click"])
def test_list_unsubscribe_post_must_be_exactly_one_click(value):
    assert problems(eml(List_Unsubscribe_Post=value)) == ["List-Unsubscribe-Post is not List-Unsubscribe=One-Click"]


def test_an_html_part_without_a_viewport_is_refused():
    assert problems(eml(html=HTML.replace('name="viewport"', 'name="author"'))) == ["no viewport meta"]


@pytest.mark.parametrize("image", ['<img src="https://img.example/2.jpg">', '<img alt=" " src="https://i.example/2">'])
def test_an_image_without_alt_text_is_refused(image):
    assert problems(eml(html=HTML.replace("</body>", image + "</body>"))) == ["an image without alt text"]


@pytest.mark.parametrize("part", ["text", "HTML"])
def test_the_postal_address_and_the_unsubscribe_link_must_be_in_both_parts(part):
    def without(value):
        return eml(text=TEXT.replace(value, "")) if part == "text" else eml(html=HTML.replace(str(escape(value)), ""))

    assert problems(without(ADDRESS)) == [f"no postal address in the {part} part"]
    assert problems(without(LINK)) == [f"no unsubscribe link in the {part} part"]


def test_the_unsubscribe_link_in_the_body_must_be_the_one_in_the_header():
    other = LIST_UNSUBSCRIBE.replace("token=0f3a", "token=ffff")
    assert problems(eml(List_Unsubscribe=other)) == [
        "no unsubscribe link in the text part",
        "no unsubscribe link in the HTML part",
    ]


def test_a_subject_over_60_characters_or_cut_mid_word_is_refused():
    assert problems(eml(Subject="x" * 60)) == []
    assert problems(eml(Subject="x" * 61)) == ["subject over 60 characters"]
    assert problems(eml(Subject="Priya, 5 picks for you, starting with Belkin Apple…")) == ["subject cut mid-word"]


@pytest.mark.parametrize(
    "greeting, subject",
    [
        ("Hello Amazon Customer,", HEADERS["Subject"]),
        ("Hi kindle customer,", HEADERS["Subject"]),
        ("Hi Priya,", "Placeholder, 5 picks for you"),
        ("Dear Guest,", HEADERS["Subject"]),
    ],
)
def test_a_placeholder_name_in_the_greeting_or_the_subject_is_refused(greeting, subject):
    assert problems(eml(text=TEXT.replace("Hi Priya,", greeting), Subject=subject)) == [
        "a placeholder name in the greeting or subject"
    ]


def test_a_name_that_only_starts_like_a_placeholder_is_a_name():
    assert problems(eml(text=TEXT.replace("Hi Priya,", "Hi Guestrin,"), Subject="Guestrin, two picks")) == []
