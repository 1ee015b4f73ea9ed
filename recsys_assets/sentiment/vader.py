"""Review sentiment in Amazon Comprehend's output shape, computed offline with VADER (docs/sentiment.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, partial
from typing import Literal

import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
    scalar_inc_dec,
)

from recsys_assets.parallel import map_chunks, split_evenly
from recsys_assets.sentiment.review_lexicon import REVIEW_PHRASES, REVIEW_WORDS

SENTIMENT_COLUMNS = ("Sentiment", "Positive", "Negative", "Neutral", "Mixed")
LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
VADER_COLUMNS = ("neg", "neu", "pos", "compound")
CHUNK_SIZE = 2_000
# Below this many distinct texts one process beats starting a pool.
PARALLEL_MIN_TEXTS = 20_000

_NEGATIONS = frozenset(NEGATE)

Lexicon = Literal["vader", "review"]
LEXICONS: tuple[Lexicon, ...] = ("vader", "review")
DEFAULT_LEXICON: Lexicon = "review"


def comprehend_from_vader(polarity: pd.DataFrame) -> pd.DataFrame:
    """VADER's neg/neu/pos/compound columns -> SENTIMENT_COLUMNS: a label and four scores in [0, 1] summing to 1
    (a text without words is NEUTRAL, Neutral = 1). The mapping is in docs/sentiment.md."""
    pos = polarity["pos"].to_numpy(dtype=float)
    neg = polarity["neg"].to_numpy(dtype=float)
    neu = polarity["neu"].to_numpy(dtype=float)
    compound = polarity["compound"].to_numpy(dtype=float)
    neu = np.where(pos + neg + neu == 0, 1.0, neu)

    strongest = np.maximum(pos, neg)
    balance = np.divide(np.minimum(pos, neg), strongest, out=np.zeros_like(strongest), where=strongest > 0)
    decided = np.abs(compound) * (1.0 - balance)
    undecided = 1.0 - decided
    scores = np.column_stack(
        [
            decided * (compound > 0) + undecided * np.maximum(pos - neg, 0.0),
            decided * (compound < 0) + undecided * np.maximum(neg - pos, 0.0),
            undecided * neu,
            undecided * 2.0 * np.minimum(pos, neg),
        ]
    )
    scores /= scores.sum(axis=1, keepdims=True)
    result = pd.DataFrame(scores, columns=[label.title() for label in LABELS], index=polarity.index)
    result.insert(0, "Sentiment", np.asarray(LABELS)[scores.argmax(axis=1)])
    return result[list(SENTIMENT_COLUMNS)]


def score_texts(texts: Sequence[str], workers: int = 1, lexicon: Lexicon = DEFAULT_LEXICON) -> pd.DataFrame:
    """One row per input text, in input order, columns SENTIMENT_COLUMNS; None/NaN count as empty text.

    ``lexicon="vader"`` is vaderSentiment 3.3.2 exactly, ``"review"`` adds review_lexicon. ``workers > 1`` scores on
    a process pool with the same results; ``workers=0`` uses ``os.cpu_count()``.
    """
    if lexicon not in LEXICONS:
        raise ValueError(f"unknown lexicon {lexicon!r}; expected one of {', '.join(LEXICONS)}")
    series = pd.Series(list(texts), dtype=object)
    codes, distinct = pd.factorize(series.fillna("").astype(str))
    polarity = pd.DataFrame(_vader_scores(list(distinct), workers, lexicon), columns=VADER_COLUMNS)
    return comprehend_from_vader(polarity).iloc[codes].reset_index(drop=True)


def _vader_scores(texts: list[str], workers: int, lexicon: Lexicon) -> np.ndarray:
    """VADER's (neg, neu, pos, compound) for each text, as a float array of shape (len(texts), 4)."""
    score_chunk = partial(_score_chunk, lexicon=lexicon)
    if len(texts) < PARALLEL_MIN_TEXTS:
        return score_chunk(texts)
    chunks = [texts[part] for part in split_evenly(len(texts), workers, CHUNK_SIZE)]
    return np.concatenate(map_chunks(score_chunk, chunks, workers, initializer=partial(lexicon_analyzer, lexicon)))


def _score_chunk(texts: list[str], lexicon: Lexicon) -> np.ndarray:
    """VADER scores of a chunk with this process's analyzer."""
    score = lexicon_analyzer(lexicon).polarity_scores
    rows = [[scores[column] for column in VADER_COLUMNS] for scores in map(score, texts)]
    return np.array(rows, dtype=float).reshape(-1, len(VADER_COLUMNS))


@cache
def lexicon_analyzer(lexicon: Lexicon) -> _FastSentimentIntensityAnalyzer:
    """The VADER-compatible analyzer of ``lexicon``, one per process (loads in ~50 ms); also the pool initializer."""
    return _ReviewSentimentIntensityAnalyzer() if lexicon == "review" else _FastSentimentIntensityAnalyzer()


class _FastSentimentIntensityAnalyzer(SentimentIntensityAnalyzer):
    """vaderSentiment 3.3.2's analyzer, linear in the text length, same ``polarity_scores`` (docs/sentiment.md)."""

    def __init__(self) -> None:
        super().__init__()
        self._emoji_chars = frozenset(key for key in self.emojis if len(key) == 1)

    def polarity_scores(self, text: str) -> dict[str, float]:
        if not self._emoji_chars.isdisjoint(text):
            text = self._describe_emojis(text)
        text = text.strip()
        sentitext = SentiText(text)
        words = sentitext.words_and_emoticons
        lowered = [word.lower() for word in words]
        sentiments = _but_check(lowered, self.word_sentiments(words, lowered, sentitext.is_cap_diff))
        return self.score_valence(sentiments, text)

    def word_sentiments(self, words: list[str], lowered: list[str], is_cap_diff: bool) -> list[float]:
        """Each word's valence in its context, before the "but" rule (0 for words outside the lexicon)."""
        sentiments = []
        for i, word_lower in enumerate(lowered):
            scores_nothing = (
                word_lower not in self.lexicon
                or word_lower in BOOSTER_DICT
                or (i < len(lowered) - 1 and word_lower == "kind" and lowered[i + 1] == "of")
            )
            sentiments.append(0 if scores_nothing else self._valence(words, lowered, i, is_cap_diff))
        return sentiments

    def _describe_emojis(self, text: str) -> str:
        """Replace each emoji by its description, spaced as vaderSentiment does."""
        pieces = []
        prev_space = True
        for char in text:
            if char in self.emojis:
                if not prev_space:
                    pieces.append(" ")
                pieces.append(self.emojis[char])
                prev_space = False
            else:
                pieces.append(char)
                prev_space = char == " "
        return "".join(pieces)

    def _valence(self, words: list[str], lowered: list[str], i: int, is_cap_diff: bool) -> float:
        """vaderSentiment's ``sentiment_valence`` for lexicon word i, given the lower-cased words."""
        word_lower = lowered[i]
        valence = self.lexicon[word_lower]
        if word_lower == "no" and i != len(words) - 1 and lowered[i + 1] in self.lexicon:
            valence = 0.0
        if (
            (i > 0 and lowered[i - 1] == "no")
            or (i > 1 and lowered[i - 2] == "no")
            or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ["or", "nor"])
        ):
            valence = self.lexicon[word_lower] * N_SCALAR
        if words[i].isupper() and is_cap_diff:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(0, 3):
            if i > start_i and lowered[i - (start_i + 1)] not in self.lexicon:
                s = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowered, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowered, i)
        return self._least_check(valence, words, i)


class _ReviewSentimentIntensityAnalyzer(_FastSentimentIntensityAnalyzer):
    """VADER with the review lexicon: REVIEW_WORDS join the lexicon, REVIEW_PHRASES override their words; a phrase's
    valence goes to its last token, negated after a negation (docs/sentiment.md)."""

    def __init__(self) -> None:
        super().__init__()
        self.lexicon = {**self.lexicon, **REVIEW_WORDS}
        self._phrase_valence = {tuple(phrase.split()): valence for phrase, valence in REVIEW_PHRASES.items()}
        longest_first = sorted(REVIEW_PHRASES, key=lambda phrase: -len(phrase.split()))
        self._phrase_ends = frozenset(phrase.split()[-1] for phrase in REVIEW_PHRASES)
        self._phrase_pattern = re.compile(rf"(?<!\S)(?:{'|'.join(map(re.escape, longest_first))})(?!\S)")

    def word_sentiments(self, words: list[str], lowered: list[str], is_cap_diff: bool) -> list[float]:
        sentiments = super().word_sentiments(words, lowered, is_cap_diff)
        if self._phrase_ends.isdisjoint(lowered):
            return sentiments
        joined = " ".join(lowered)
        start, counted_to = 0, 0  # word index of each match, counted on from the previous one
        for match in self._phrase_pattern.finditer(joined):
            tokens = tuple(match.group().split())
            start += joined.count(" ", counted_to, match.start())
            counted_to = match.start()
            valence = self._phrase_valence[tokens]
            if not _is_negation(tokens[0]) and any(map(_is_negation, lowered[max(start - 3, 0) : start])):
                valence *= N_SCALAR
            sentiments[start : start + len(tokens)] = [0.0] * (len(tokens) - 1) + [valence]
        return sentiments


def _but_check(lowered: list[str], sentiments: list[float]) -> list[float]:
    """vaderSentiment's ``_but_check``: valences before the first "but" halved, those after times 1.5, each written
    back at the first position holding an equal value, as the original does."""
    if "but" not in lowered:
        return sentiments
    but_index = lowered.index("but")
    for sentiment in sentiments:
        if sentiment == 0:
            continue
        position = sentiments.index(sentiment)
        if position < but_index:
            sentiments[position] = sentiment * 0.5
        elif position > but_index:
            sentiments[position] = sentiment * 1.5
    return sentiments


def _is_negation(word_lower: str) -> bool:
    """vaderSentiment's ``negated([word])`` for an already lower-cased word."""
    return word_lower in _NEGATIONS or "n't" in word_lower


def _negation_check(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    """vaderSentiment's ``_negation_check`` on the lower-cased words."""
    if start_i == 0:
        if _is_negation(lowered[i - 1]):
            valence = valence * N_SCALAR
    if start_i == 1:
        if lowered[i - 2] == "never" and (lowered[i - 1] == "so" or lowered[i - 1] == "this"):
            valence = valence * 1.25
        elif lowered[i - 2] == "without" and lowered[i - 1] == "doubt":
            pass
        elif _is_negation(lowered[i - 2]):
            valence = valence * N_SCALAR
    if start_i == 2:
        if (
            lowered[i - 3] == "never"
            and (lowered[i - 2] == "so" or lowered[i - 2] == "this")
            or (lowered[i - 1] == "so" or lowered[i - 1] == "this")
        ):
            valence = valence * 1.25
        elif lowered[i - 3] == "without" and (lowered[i - 2] == "doubt" or lowered[i - 1] == "doubt"):
            pass
        elif _is_negation(lowered[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, lowered: list[str], i: int) -> float:
    """vaderSentiment's ``_special_idioms_check`` on the lower-cased words (negative indices wrap as there)."""
    onezero = f"{lowered[i - 1]} {lowered[i]}"
    twoonezero = f"{lowered[i - 2]} {lowered[i - 1]} {lowered[i]}"
    twoone = f"{lowered[i - 2]} {lowered[i - 1]}"
    threetwoone = f"{lowered[i - 3]} {lowered[i - 2]} {lowered[i - 1]}"
    threetwo = f"{lowered[i - 3]} {lowered[i - 2]}"
    for sequence in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if sequence in SPECIAL_CASES:
            valence = SPECIAL_CASES[sequence]
            break
    if len(lowered) - 1 > i:
        zeroone = f"{lowered[i]} {lowered[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowered) - 1 > i + 1:
        zeroonetwo = f"{lowered[i]} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence
