import json
import subprocess
import sys

import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from recsys_assets.cli import main
from recsys_assets.sentiment.vader import SENTIMENT_COLUMNS, lexicon_analyzer, score_texts

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


def test_sentiment_command_writes_comprehend_detect_sentiment_responses_as_json_lines(tmp_path, capsys):
    assert main(["sentiment", str(_write_lines(tmp_path, TEXTS)), "--format", "jsonl"]) == 0  # the review lexicon
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [list(row) for row in rows] == [["Sentiment", "SentimentScore"]] * 4
    assert [list(row["SentimentScore"]) for row in rows] == [["Positive", "Negative", "Neutral", "Mixed"]] * 4
    assert [row["Sentiment"] for row in rows] == ["POSITIVE", "NEGATIVE", "NEUTRAL", "POSITIVE"]
    assert rows[2] == {
        "Sentiment": "NEUTRAL",
        "SentimentScore": {"Positive": 0.0, "Negative": 0.0, "Neutral": 1.0, "Mixed": 0.0},
    }


def test_sentiment_command_refuses_an_unwritable_out_path_before_scoring(tmp_path, capsys):
    texts = _write_lines(tmp_path, TEXTS)
    assert main(["sentiment", str(texts), "--out", str(tmp_path)]) == 2
    assert main(["sentiment", str(texts), "--out", str(tmp_path / "absent" / "scores.csv")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors[0].startswith("recsys sentiment failed: ") and str(tmp_path) in errors[0]
    assert "absent/scores.csv" in errors[1]


def test_sentiment_command_stops_quietly_when_the_reader_closes_the_pipe(tmp_path):
    texts = _write_lines(tmp_path, ["I love it"] * 20_000)  # far more output than a pipe buffers
    command = [sys.executable, "-c", "import sys; from recsys_assets.cli import main; sys.exit(main(sys.argv[1:]))"]
    process = subprocess.Popen(
        [*command, "sentiment", str(texts), "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout.readline() == b"Sentiment,Positive,Negative,Neutral,Mixed\n"
    process.stdout.close()  # as `| head -1` does
    assert process.wait(timeout=60) == 1
    assert process.stderr.read() == b""


def test_the_command_line_starts_without_importing_dagster():
    code = (
        "import sys, recsys_assets.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'boto3')))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def test_sentiment_command_on_a_missing_file_exits_2_naming_it(tmp_path, capsys):
    assert main(["sentiment", str(tmp_path / "absent.txt")]) == 2
    assert "absent.txt" in capsys.readouterr().err


def test_sentiment_command_names_the_line_and_column_of_bytes_that_are_not_utf8(tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_bytes(b"\xef\xbb\xbfgreat\nna\xc3\xafve \xff\nfine\n")
    assert main(["sentiment", str(path)]) == 2
    assert f"{path}: line 2, column 7: byte 0xff is not UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "place"),
    [
        (b"one\rtwo\rthree \xff\r", "line 3, column 7"),
        (b"one\r\ntwo\rthree \xff\n", "line 3, column 7"),
        (b"one\n\r\n\xff", "line 3, column 1"),
    ],
)
def test_utf8_errors_are_placed_on_lines_ending_in_cr_crlf_or_lf(tmp_path, capsys, data, place):
    path = tmp_path / "texts.txt"
    path.write_bytes(data)
    assert main(["sentiment", str(path)]) == 2
    assert f"{path}: {place}: byte 0xff is not UTF-8" in capsys.readouterr().err


def test_sentiment_command_reads_crlf_and_a_bom_like_any_text_file(tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_bytes("\ufeffI love it\r\n\r\nterrible".encode("utf-8"))
    assert main(["sentiment", str(path), "--format", "jsonl", "--lexicon", "vader"]) == 0
    assert [json.loads(line)["Sentiment"] for line in capsys.readouterr().out.splitlines()] == [
        "POSITIVE",
        "NEUTRAL",
        "NEGATIVE",
    ]


def test_review_lexicon_reads_product_failures_as_negative_and_praise_by_negation_as_positive():
    texts = [
        "stopped working after a week",
        "Don't waste your money",
        "does not work",
        "not worth it",
        "no complaints",
        "would buy again",
    ]
    labels = score_texts(texts, lexicon="review")["Sentiment"].tolist()
    assert labels == ["NEGATIVE", "NEGATIVE", "NEGATIVE", "NEGATIVE", "POSITIVE", "POSITIVE"]


def test_review_lexicon_negates_a_phrase_after_a_negation():
    assert score_texts(["would not buy again", "not as described"], lexicon="review")["Sentiment"].tolist() == [
        "NEGATIVE",
        "NEGATIVE",
    ]


def test_review_lexicon_places_every_phrase_of_a_long_text_on_its_own_words():
    phrases = "as described " * 50  # positive each time; the phrase after "not" is negated
    analyzer = lexicon_analyzer("review")
    lowered = f"{phrases}but not as described".split()
    sentiments = analyzer.word_sentiments(lowered, lowered, False)
    phrase_ends = [index for index, value in enumerate(sentiments) if value != 0]
    assert phrase_ends == [*range(1, 100, 2), len(lowered) - 1]
    assert len({sentiments[index] for index in phrase_ends[:-1]}) == 1 > 0 > sentiments[-1]


def test_review_lexicon_is_deterministic_across_calls_and_input_order():
    texts = ["Great product but it stopped working", "no issues, works great", "flimsy junk"] * 3
    first = score_texts(texts, lexicon="review")
    pd.testing.assert_frame_equal(
        first, score_texts(list(reversed(texts)), lexicon="review").iloc[::-1].reset_index(drop=True)
    )


def test_vader_lexicon_still_equals_vader_sentiment_on_review_phrases():
    texts = [
        "stopped working after a week",
        "Don't waste your money, it broke",
        "no complaints but flimsy",
        "as described!",
    ]
    vader = SentimentIntensityAnalyzer()
    assert [lexicon_analyzer("vader").polarity_scores(t) for t in texts] == [vader.polarity_scores(t) for t in texts]


def test_a_negative_worker_count_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["sentiment", str(_write_lines(tmp_path, TEXTS)), "--workers", "-1"])
    assert stopped.value.code == 2 and "--workers: -1 is below 0" in capsys.readouterr().err
