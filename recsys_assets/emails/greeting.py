"""How an email greets its customer: the first name where the name is a person's, a warm generic line otherwise.

Rules and their measurement on the Kaggle export are in docs/emails.md ("Greeting").
"""

from __future__ import annotations

import pandas as pd

GENERIC_GREETING = "Hi there,"
MAX_FIRST_NAME_CHARS = 24

# Whole names a shop or a marketplace writes for a customer it does not know.
_PLACEHOLDER = (
    r"(?:(?:amazon|kindle|flipkart|amazon\s+prime|prime|verified|certified|valued|happy|critical|satisfied|"
    r"genuine|honest|regular|loyal)\s+)?(?:customer|buyer|user|reviewer|shopper|purchaser|member)s?"
    r"|placeholder|guest|unknown|anonymous\d*|customer\s+reviews?|no\s*name|none|null|nil|n/?a|test(?:er|ing)?"
    r"|xyz|abc|asdf|qwerty|amazon|flipkart|someone|anybody|everyone|me|myself|self|name|first\s+name"
    r"|highly\s+critical"
)
# Text that makes any name a placeholder ("NRD AZ Customer", "AmazonCustomer99", "Amazon_user").
_PLACEHOLDER_PART = r"customer|buyer|reviewer|shopper|placeholder|anonymous|(?:\b|_)users?(?:\b|_)"
# A word that makes a name a company, a shop or a channel rather than a person.
_COMPANY_WORDS = (
    r"pvt|private|ltd|limited|llp|llc|inc|corp|corporation|co|company|enterprises?|traders?|trading|store|stores"
    r"|shop|shoppe|mart|technologies|technology|tech|techno\w*|solutions?|services?|industries|industry|healthcare"
    r"|pharma|jewell?ers|electronics|electricals|mobiles?|computers|systems|agency|agencies|group|associates"
    r"|international|india|global|official|channel|unboxing|video|videos|reviews|studio|studios|media|academy"
    r"|foundation|hospital|clinic|school|college|restaurant|hotel|gadgets?|infotech|engg|mktg"
)
# Titles dropped before the first name ("Dr. Asha" -> "Asha").
_TITLES = r"(?:mr|mrs|ms|miss|mx|dr|prof|er|sri|shri|smt|km|capt|col|lt|maj|sir|adv|ca|cma|md|pilot)(?:\.\s*|\s+)"
# First words that are a nickname's, not a name ("The Scarred Man", "Heavenly stuff", "Real Deal").
_NICKNAME_WORDS = r"the|its|it's|good|lovely|real|super|ghost|heavenly|diamond|sweet|best|happy|nobody|justice|air"
# A readable first word: letters of a script (no digits, no underscore), inner ' or - allowed; not IPA or small caps.
# Combining marks (accents, the vowel signs of Indic scripts) belong to a word too.
_MARKS = "\u0300-\u036f\u0900-\u0dff"
_WORD = rf"[^\W\d_](?:[^\W\d_]|[{_MARKS}]|['’-](?=[^\W\d_]))*"
# IPA and small capitals, struck-through and letter-shaped combining marks: styled text, not a name.
_ODD_LETTERS = r"[\u0250-\u02af\u1d00-\u1dbf\u0334-\u0338\u0363-\u036f]"
# Mixed case kept as written: McDonald, DeShawn, SureshKumar (each part a capital then lower case).
_KEPT_CASE = r"(?:[A-Z][a-z]+)+|(?:[A-Z]['’][A-Z][a-z]+)|(?:[A-Z][a-z]+-[A-Z][a-z]+)"


def first_names(names: pd.Series) -> pd.DataFrame:
    """Per name (same index): `first_name` to greet ('' when there is none) and its `kind`: 'person' (greeted),
    'placeholder', 'company', 'handle', 'initials', 'unreadable' or 'blank'.

    Each distinct name is classified once."""
    distinct = pd.Series(names.astype("string").fillna("").unique(), dtype="string")
    classified = _classify(distinct).set_axis(distinct.to_numpy())
    looked_up = classified.reindex(names.astype("string").fillna("").to_numpy())
    return looked_up.set_axis(names.index)


def greetings(first: pd.Series) -> pd.Series:
    """The opening line for each first name: 'Hi Priya,' or, for '', GENERIC_GREETING."""
    return ("Hi " + first + ",").where(first != "", GENERIC_GREETING)


def _classify(names: pd.Series) -> pd.DataFrame:
    # NFKC turns styled letters (𝕵𝖆𝖙𝖎𝖓, ｆｕｌｌ width) into plain ones; whitespace and controls become one space
    text = names.str.normalize("NFKC").str.replace(r"[\s\x00-\x1f\x7f-\x9f]+", " ", regex=True).str.strip()
    # a parenthesis is a nickname or a note ("Anuj (Gadget Gig)", "Buyer (Name protected)")
    text = text.str.replace(r"\([^)]*\)?", " ", regex=True).str.strip()
    bare = text.str.replace(rf"[^\w\s'’.&{_MARKS}-]+", " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    lower = bare.str.lower().str.strip(" .-")
    untitled = bare.str.replace(rf"^(?:{_TITLES})+", "", regex=True, case=False)
    words = untitled.str.split(r"[\s.]+", regex=True)
    first = words.str[0].fillna("").str.strip("-'’")
    next_word = words.str[1].fillna("")
    markup = text.str.contains(r"[<>{}\[\]=\\]", regex=True)  # '<script>', '{{name}}', '[NAME]': code, not a name
    kind = pd.Series("person", index=names.index, dtype="object")
    # an initial: one letter, or two capitals ("KB raju"), before another word
    is_initial = first.str.fullmatch(r"[^\W\d_]|[A-Z]{2}").fillna(False) & (next_word != "")
    plain = first.str.normalize("NFKD")
    no_vowel = plain.str.contains(r"[A-Za-z]", regex=True) & ~plain.str.contains(r"[aeiouyAEIOUY]", regex=True)
    mixed_scripts = first.str.contains(r"[A-Za-z]", regex=True) & first.str.contains(r"[^\x00-\u024f\u0300-\u036f]")
    readable = (
        first.str.fullmatch(_WORD).fillna(False)
        & ~first.str.contains(_ODD_LETTERS, regex=True)
        & ~mixed_scripts
        & ~first.str.lower().str.fullmatch(_NICKNAME_WORDS).fillna(False)
    )
    too_short = (first.str.len() < 2) | first.str.fullmatch(r"[A-Z]{2}").fillna(False)
    rules = [
        ("unreadable", ~readable | (first.str.len() > MAX_FIRST_NAME_CHARS) | no_vowel | too_short | markup),
        ("initials", is_initial),
        ("company", lower.str.contains(rf"\b(?:{_COMPANY_WORDS})\b|&", regex=True)),
        ("handle", text.str.contains(r"\d|_|@", regex=True) & ~readable | first.str.contains(r"\d|_", regex=True)),
        ("placeholder", lower.str.fullmatch(_PLACEHOLDER) | lower.str.contains(_PLACEHOLDER_PART, regex=True)),
        ("blank", text == ""),
    ]
    for label, rule in rules:  # later rules win: a blank is 'blank', not 'unreadable'
        kind = kind.mask(rule.fillna(False).astype(bool), label)
    greeted = kind == "person"
    return pd.DataFrame({"first_name": _capitalised(first).where(greeted, ""), "kind": kind}, index=names.index)


def _capitalised(words: pd.Series) -> pd.Series:
    """'PRIYA' -> 'Priya', 'rahul' -> 'Rahul', "d'souza" -> "D'Souza"; 'McDonald' and 'SureshKumar' as written."""
    kept = words.str.fullmatch(_KEPT_CASE).fillna(False)
    return words.where(kept, words.str.lower().str.title())
