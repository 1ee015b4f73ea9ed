import random

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from recsys_assets.schemas import FileSentiment
from recsys_assets.sentiment import vader as sentiment
from recsys_assets.sentiment.vader import (
    LABELS,
    SENTIMENT_COLUMNS,
    comprehend_from_vader,
    lexicon_analyzer,
    score_texts,
)

SCORE_COLUMNS = list(SENTIMENT_COLUMNS[1:])

# Words that trigger VADER's rules: boosters, negations, "but", idioms, caps, punctuation, emoticons, emoji.
RULE_WORDS = (
    "good great bad awful love hate not no never so this very kind of sort least at without doubt but BUT "
    "GREAT the shit bomb yeah right or nor isn't don't kinda :) :( 😍 😡 ! ? !!! product battery"
).split()


def _rule_heavy_texts(count: int) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(RULE_WORDS) for _ in range(rng.randint(1, 20))) for _ in range(count)]


def test_clearly_positive_text_is_positive_with_positive_the_largest_score():
    row = score_texts(["Absolutely love this phone, the camera is excellent and the battery is great!"]).iloc[0]
    assert row["Sentiment"] == "POSITIVE"
    assert row[SCORE_COLUMNS].astype(float).idxmax() == "Positive"


def test_clearly_negative_text_is_negative_with_negative_the_largest_score():
    row = score_texts(["Terrible product, it broke after two days. Awful and useless, a waste of money."]).iloc[0]
    assert row["Sentiment"] == "NEGATIVE"
    assert row[SCORE_COLUMNS].astype(float).idxmax() == "Negative"


def test_empty_none_nan_and_whitespace_texts_are_fully_neutral():
    result = score_texts(["", None, np.nan, "   \n\t"])
    assert list(result["Sentiment"]) == ["NEUTRAL"] * 4
    assert list(result["Neutral"]) == [1.0] * 4
    assert (result[["Positive", "Negative", "Mixed"]] == 0.0).all().all()


def test_strong_praise_and_strong_complaint_together_is_mixed():
    text = "The screen is gorgeous and I love it. The battery is awful and I hate it."
    row = score_texts([text]).iloc[0]
    assert row["Sentiment"] == "MIXED"
    assert row[SCORE_COLUMNS].astype(float).idxmax() == "Mixed"


def test_balanced_positive_and_negative_shares_put_the_undecided_mass_on_mixed():
    polarity = pd.DataFrame({"neg": [0.4], "neu": [0.2], "pos": [0.4], "compound": [0.1]}, index=["r1"])
    result = comprehend_from_vader(polarity)
    assert list(result.index) == ["r1"]
    assert result.loc["r1", "Sentiment"] == "MIXED"
    assert result.loc["r1", SCORE_COLUMNS].astype(float).tolist() == pytest.approx([0.0, 0.0, 0.2, 0.8])


def test_one_sided_text_gives_its_compound_to_its_side_and_shares_the_rest_by_word_proportions():
    polarity = pd.DataFrame({"neg": [0.0], "neu": [0.256], "pos": [0.744], "compound": [0.4404]})
    row = comprehend_from_vader(polarity).iloc[0]
    undecided = 1 - 0.4404
    assert row["Sentiment"] == "POSITIVE"
    assert row[SCORE_COLUMNS].astype(float).tolist() == pytest.approx(
        [0.4404 + undecided * 0.744, 0.0, undecided * 0.256, 0.0]
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(-1, 1)),
        min_size=1,
        max_size=20,
    )
)
def test_scores_lie_in_unit_interval_sum_to_one_and_label_is_their_argmax(rows):
    proportions = np.array([row[:3] for row in rows])
    totals = proportions.sum(axis=1, keepdims=True)
    proportions = np.round(np.divide(proportions, totals, out=np.zeros_like(proportions), where=totals > 0), 3)
    polarity = pd.DataFrame(proportions, columns=["neg", "neu", "pos"]).assign(compound=[row[3] for row in rows])
    polarity.loc[totals[:, 0] == 0, "compound"] = 0.0  # VADER's all-zero row for a text without words

    result = comprehend_from_vader(polarity)

    scores = result[SCORE_COLUMNS].to_numpy(dtype=float)
    assert ((scores >= 0) & (scores <= 1)).all()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)
    assert list(result["Sentiment"]) == [LABELS[i] for i in scores.argmax(axis=1)]


def test_real_texts_scores_lie_in_unit_interval_and_sum_to_one():
    result = score_texts(_rule_heavy_texts(100))
    scores = result[SCORE_COLUMNS].to_numpy(dtype=float)
    assert list(result.columns) == list(SENTIMENT_COLUMNS)
    assert ((scores >= 0) & (scores <= 1)).all()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)


def test_order_is_preserved_and_duplicate_texts_get_identical_rows():
    texts = ["I love it", "I hate it", "It is a phone", "I love it", None, "I hate it"]
    result = score_texts(pd.Series(texts, index=[10, 11, 12, 13, 14, 15]))
    assert list(result.index) == list(range(6))
    assert list(result["Sentiment"]) == ["POSITIVE", "NEGATIVE", "NEUTRAL", "POSITIVE", "NEUTRAL", "NEGATIVE"]
    pd.testing.assert_series_equal(result.iloc[0], result.iloc[3], check_names=False)
    pd.testing.assert_series_equal(result.iloc[1], result.iloc[5], check_names=False)


def test_two_workers_give_results_identical_to_one_worker(monkeypatch):
    monkeypatch.setattr(sentiment, "PARALLEL_MIN_TEXTS", 0)
    texts = _rule_heavy_texts(200) + [None, ""]
    pd.testing.assert_frame_equal(score_texts(texts, workers=2), score_texts(texts, workers=1))


def test_zero_workers_uses_all_cores_with_identical_results(monkeypatch):
    monkeypatch.setattr(sentiment, "PARALLEL_MIN_TEXTS", 0)
    texts = _rule_heavy_texts(20)
    pd.testing.assert_frame_equal(score_texts(texts, workers=0), score_texts(texts, workers=1))


def test_no_texts_give_an_empty_frame_with_the_sentiment_columns():
    result = score_texts([])
    assert result.empty
    assert list(result.columns) == list(SENTIMENT_COLUMNS)


def test_non_ascii_texts_emoji_hindi_and_rupee_do_not_crash():
    result = score_texts(["😍😍", "Loved it 👍", "बहुत अच्छा उत्पाद", "Worth ₹399, great value", "ðŸ‘"])
    assert list(result["Sentiment"]) == ["POSITIVE", "POSITIVE", "NEUTRAL", "POSITIVE", "NEUTRAL"]


def test_fast_analyzer_equals_vader_polarity_scores_exactly():
    texts = _rule_heavy_texts(400) + [
        "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
        "At least it isn't a horrible book.",
        "The plot was good, but the characters are uncompelling and the dialog is not great.",
        "Today only kinda sux! But I'll get by, lol",
        "Catch utf-8 emoji such as 💘 and 💋 and 😁",
        "Roger Dodger is one of the least compelling variations on this theme.",
        "Without a doubt, an excellent idea.",
        "no no good",
        "\t😁x😁 ",
        "Worth ₹399 बहुत अच्छा",
        "",
    ]
    vader, fast = SentimentIntensityAnalyzer(), lexicon_analyzer("vader")
    assert [fast.polarity_scores(text) for text in texts] == [vader.polarity_scores(text) for text in texts]


def test_file_sentiment_schema_refuses_scores_off_one_duplicates_and_rows_without_their_file():
    good = pd.DataFrame(
        {
            "review_id": ["r1", "r2"],
            "user_id": ["u1", "u2"],
            "product_id": ["p1", "p1"],
            "source_file": ["a.csv", "a.csv"],
            "Sentiment": ["POSITIVE", "NEGATIVE"],
            "Positive": [0.9, 0.1],
            "Negative": [0.1, 0.8],
            "Neutral": [0.0, 0.1],
            "Mixed": [0.0, 0.0],
        }
    )
    FileSentiment.validate(good)
    for bad in (
        good.assign(Positive=[0.5, 0.1]),  # the first row's scores sum to 0.6
        good.assign(user_id="u1"),  # the same review twice
        good.assign(source_file=["a.csv", ""]),
    ):
        with pytest.raises(pa.errors.SchemaError):
            FileSentiment.validate(bad)
