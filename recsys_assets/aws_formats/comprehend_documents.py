"""Amazon Comprehend's request limits and response shapes, as pure functions (no AWS calls)."""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from recsys_assets.sentiment.vader import LABELS, SENTIMENT_COLUMNS

MAX_DOCUMENT_BYTES = 5_000  # per text, UTF-8, for BatchDetectSentiment and ONE_DOC_PER_LINE jobs
SCORE_COLUMNS = SENTIMENT_COLUMNS[1:]
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x1c-\x1e\x85]+")


def truncate_utf8(text: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    # the cut can only split the last character; "ignore" drops its incomplete bytes
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def one_line(text: str) -> str:
    """`text` without line breaks (each run becomes one space), for one-document-per-line job input."""
    return _LINE_BREAKS.sub(" ", text)


def sentiment_frame(results: Sequence[dict | None]) -> pd.DataFrame:
    """Comprehend results (`{"Sentiment", "SentimentScore": {...}}`) -> SENTIMENT_COLUMNS; None is NEUTRAL."""
    scores = np.zeros((len(results), len(SCORE_COLUMNS)))
    labels = np.full(len(results), "NEUTRAL", dtype=object)
    for row, result in enumerate(results):
        if result is None:
            scores[row, SCORE_COLUMNS.index("Neutral")] = 1.0
        else:
            labels[row] = result["Sentiment"]
            scores[row] = [result["SentimentScore"][column] for column in SCORE_COLUMNS]
    frame = pd.DataFrame(scores, columns=list(SCORE_COLUMNS))
    frame.insert(0, "Sentiment", pd.Series(labels, dtype="string"))
    if not frame["Sentiment"].isin(LABELS).all():
        raise ValueError(f"unexpected sentiment labels: {sorted(set(frame['Sentiment']) - set(LABELS))}")
    return frame


def job_output_lines(archive: bytes) -> Iterable[dict]:
    """The JSON lines of a sentiment detection job's output.tar.gz (`{"File", "Line", "Sentiment", ...}` or
    `ErrorCode`)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            for line in tar.extractfile(member).read().decode("utf-8").splitlines():
                if line.strip():
                    yield json.loads(line)
