"""Sentiment analyzer: Comprehend-shaped labels and scores for review texts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from recsys_assets.sentiment.vader import DEFAULT_LEXICON, Lexicon, score_texts


class SentimentAnalyzer(ConfigurableResource, ABC):
    """Scores texts; one row per text, in order: Sentiment, Positive, Negative, Neutral, Mixed."""

    @abstractmethod
    def score(self, texts: Sequence[str]) -> pd.DataFrame: ...

    def last_errors(self) -> int:
        """Texts of the last `score` call that the service could not score (reported NEUTRAL); 0 locally."""
        return 0


class VaderSentimentAnalyzer(SentimentAnalyzer):
    """VADER, locally and offline, mapped to Amazon Comprehend's output shape."""

    workers: int = Field(default=0, description="Processes to score with; 0 means one per core (large inputs only).")
    lexicon: Lexicon = Field(
        default=DEFAULT_LEXICON,
        description="'vader' (vaderSentiment exactly) or 'review' (+ product-review words and phrases).",
    )

    def score(self, texts: Sequence[str]) -> pd.DataFrame:
        return score_texts(texts, workers=self.workers, lexicon=self.lexicon)
