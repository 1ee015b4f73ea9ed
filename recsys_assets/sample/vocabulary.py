"""The sample's vocabulary, read once from the package: the category taxonomy (taxonomy.csv) and the word lists
(words.csv; "{}" in a template is where the product noun goes)."""

from __future__ import annotations

import csv
from importlib.resources import files
from typing import NamedTuple

import numpy as np


class Leaf(NamedTuple):
    """A leaf category: its path, what a reviewer calls its products, their names, specs and price range."""

    path: str
    noun: str  # none of these words is in the VADER lexicon
    names: tuple[str, ...]
    specs: tuple[str, ...]
    price_range: tuple[int, int]


def _rows(name: str) -> list[dict[str, str]]:
    with files(__package__).joinpath(name).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _leaf(row: dict[str, str]) -> Leaf:
    names, specs = tuple(row["names"].split(";")), tuple(row["specs"].split(";"))
    return Leaf(row["path"], row["noun"], names, specs, (int(row["price_low"]), int(row["price_high"])))


_WORDS = _rows("words.csv")


def _words(name: str) -> np.ndarray:
    return np.array([row["text"] for row in _WORDS if row["list"] == name], dtype=object)


def _words_per_star(name: str) -> np.ndarray:
    """(5, n) object array: row 0 holds the 1-star wording."""
    return np.array(
        [[row["text"] for row in _WORDS if row["list"] == name and row["star"] == str(star)] for star in range(1, 6)],
        dtype=object,
    )


# Sorting makes every path prefix contiguous.
LEAVES = tuple(sorted(map(_leaf, _rows("taxonomy.csv")), key=lambda leaf: leaf.path))
LEAF_PATHS = np.array([leaf.path for leaf in LEAVES], dtype=object)
LEAF_NOUNS = np.array([leaf.noun for leaf in LEAVES], dtype=object)
BRANDS = _words("brand")
COLOURS = _words("colour")
FIRST_NAMES = _words("first_name")
LAST_NAMES = _words("last_name")
ABOUT_TEMPLATES = _words("about")  # feature bullets for about_product
# Review wording per star. Titles never contain a comma; content sentences only contain ", " (comma + space), so
# a list split on commas-not-followed-by-whitespace stays aligned.
TITLES = _words_per_star("title")
SENTENCES = _words_per_star("sentence")
# Sentences whose comma is not followed by a space, as in real reviews; they break list alignment.
MISALIGNING_SENTENCES = _words("misaligning_sentence")


def level_codes(depth: int) -> tuple[np.ndarray, list[str]]:
    """Code of each leaf's path prefix of ``depth`` levels, numbered in sorted order."""
    prefixes = ["|".join(leaf.path.split("|")[:depth]) for leaf in LEAVES]
    names = sorted(set(prefixes))
    return np.array([names.index(prefix) for prefix in prefixes]), names
