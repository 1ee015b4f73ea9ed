import json

import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from recsys_assets.cli import main
from recsys_assets.sentiment import SENTIMENT_COLUMNS, _analyzer, score_texts

TEXTS = ["I love it", "stopped working after a week", "", "no complaints"]


def _write_lines(tmp_path, lines):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_sentiment_command_writes_one_csv_row_per_line_in_input_order(tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["sentiment", str(_write_lines(tmp_path, TEXTS)), "--out", str(out), "--lexicon", "vader"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == list(SENTIMENT_COLUMNS)
    expected = score_texts(TEXTS, lexicon="vader")
    assert list(table["Sentiment"]) == list(expected["Sentiment"]) == ["POSITIVE", "NEUTRAL", "NEUTRAL", "POSITIVE"]
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)


def test_sentiment_command_writes_json_lines_to_stdout(tmp_path, capsys):
    assert main(["sentiment", str(_write_lines(tmp_path, TEXTS)), "--format", "jsonl"]) == 0  # the review lexicon
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [list(row) for row in rows] == [list(SENTIMENT_COLUMNS)] * 4
    assert [row["Sentiment"] for row in rows] == ["POSITIVE", "NEGATIVE", "NEUTRAL", "POSITIVE"]
    assert rows[2] == {"Sentiment": "NEUTRAL", "Positive": 0.0, "Negative": 0.0, "Neutral": 1.0, "Mixed": 0.0}


def test_sentiment_command_on_a_missing_file_exits_2_naming_it(tmp_path, capsys):
    assert main(["sentiment", str(tmp_path / "absent.txt")]) == 2
    assert "absent.txt" in capsys.readouterr().err


def test_sentiment_command_names_the_line_and_column_of_bytes_that_are_not_utf8(tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_bytes(b"\xef\xbb\xbfgreat\nna\xc3\xafve \xff\nfine\n")
    assert main(["sentiment", str(path)]) == 2
    assert f"{path}: line 2, column 7: byte 0xff is not UTF-8" in capsys.readouterr().err


def test_sentiment_command_reads_crlf_and_a_bom_like_any_text_file(tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_bytes("\ufeffI love it\r\n\r\nterrible".encode("utf-8"))
    assert main(["sentiment", str(path), "--format", "jsonl", "--lexicon", "vader"]) == 0
    assert [json.loads(line)["Sentiment"] for line in capsys.readouterr().out.splitlines()] == ["POSITIVE", "NEUTRAL", "NEGATIVE"]


def test_review_lexicon_reads_product_failures_as_negative_and_praise_by_negation_as_positive():
    texts = ["stopped working after a week", "Don't waste your money", "does not work", "not worth it", "no complaints", "would buy again"]
    labels = score_texts(texts, lexicon="review")["Sentiment"].tolist()
    assert labels == ["NEGATIVE", "NEGATIVE", "NEGATIVE", "NEGATIVE", "POSITIVE", "POSITIVE"]


def test_review_lexicon_negates_a_phrase_after_a_negation():
    assert score_texts(["would not buy again", "not as described"], lexicon="review")["Sentiment"].tolist() == ["NEGATIVE", "NEGATIVE"]


def test_review_lexicon_is_deterministic_across_calls_and_input_order():
    texts = ["Great product but it stopped working", "no issues, works great", "flimsy junk"] * 3
    first = score_texts(texts, lexicon="review")
    pd.testing.assert_frame_equal(first, score_texts(list(reversed(texts)), lexicon="review").iloc[::-1].reset_index(drop=True))


def test_vader_lexicon_still_equals_vader_sentiment_on_review_phrases():
    texts = ["stopped working after a week", "Don't waste your money, it broke", "no complaints but flimsy", "as described!"]
    vader = SentimentIntensityAnalyzer()
    assert [_analyzer("vader").polarity_scores(t) for t in texts] == [vader.polarity_scores(t) for t in texts]
