"""Review sentiment, in Amazon Comprehend's shape."""

import pandas as pd
from dagster import AutomationCondition, MaterializeResult, asset

from recsys_assets.assets.checks import schema_check_result, schema_check_spec
from recsys_assets.assets.metadata import share_table, table_metadata
from recsys_assets.costs import comprehend_units
from recsys_assets.resources.sentiment import SentimentAnalyzer


def review_texts(reviews: pd.DataFrame) -> pd.Series:
    """Title and content as one text ('Great cable. Works well'), the way a reader sees the review."""
    title = reviews["review_title"].fillna("").str.strip()
    content = reviews["review_content"].fillna("").str.strip()
    joiner = pd.Series(". ", index=reviews.index).where((title != "") & (content != "") & ~title.str[-1:].isin([".", "!", "?"]), " ")
    return (title + joiner.where(content != "", "") + content).str.strip()


@asset(group_name="sentiment", check_specs=[schema_check_spec("review_sentiment")], automation_condition=AutomationCondition.eager())
def review_sentiment(reviews: pd.DataFrame, sentiment: SentimentAnalyzer):
    """Per review: POSITIVE / NEGATIVE / NEUTRAL / MIXED and the four scores."""
    texts = review_texts(reviews)
    scores = sentiment.score(texts.tolist())
    table = pd.concat([reviews[["review_id", "user_id", "product_id"]].reset_index(drop=True), scores], axis=1)
    mix = table["Sentiment"].value_counts().reindex(["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"], fill_value=0)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            sentiment_mix=share_table(mix, "sentiment"),
            negative_share=float(mix["NEGATIVE"] / max(len(table), 1)),
            unscored_texts=sentiment.last_errors(),
            comprehend_units=comprehend_units(texts),
        ),
        check_results=[schema_check_result("review_sentiment", table)],
    )
