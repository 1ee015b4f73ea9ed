"""Review sentiment, in Amazon Comprehend's shape."""

import pandas as pd
from dagster import AssetExecutionContext, Failure, MaterializeResult, asset

from recsys_assets.aws_formats.costs import comprehend_units
from recsys_assets.defs.automation import EAGER_OVER_FILES
from recsys_assets.defs.checks import schema_check_result, schema_check_spec
from recsys_assets.defs.conventions import SENTIMENT
from recsys_assets.defs.metadata import share_table, table_metadata
from recsys_assets.defs.partitions import raw_files
from recsys_assets.resources.sentiment_analyzer import SentimentAnalyzer


def review_texts(reviews: pd.DataFrame) -> pd.Series:
    """Title and content as one text ('Great cable. Works well'), the way a reader sees the review."""
    title = reviews["review_title"].fillna("").str.strip()
    content = reviews["review_content"].fillna("").str.strip()
    joiner = pd.Series(". ", index=reviews.index).where(
        (title != "") & (content != "") & ~title.str[-1:].isin([".", "!", "?"]), " "
    )
    return (title + joiner.where(content != "", "") + content).str.strip()


SENTIMENT_KEY = ["user_id", "product_id", "source_file"]


@asset(group_name=SENTIMENT, partitions_def=raw_files, check_specs=[schema_check_spec("file_sentiment")])
def file_sentiment(context: AssetExecutionContext, file_reviews: pd.DataFrame, sentiment: SentimentAnalyzer):
    """Sentiment of the reviews of one input file: a new file scores only its own reviews."""
    texts = review_texts(file_reviews)
    scores = sentiment.score(texts.tolist())
    table = pd.concat([file_reviews[["review_id", *SENTIMENT_KEY]].reset_index(drop=True), scores], axis=1)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table[["review_id", "Sentiment", "Positive", "Negative"]],
            unscored_texts=sentiment.last_errors(),
            comprehend_units=comprehend_units(texts),
        ),
        check_results=[schema_check_result("file_sentiment", table)],
    )


@asset(group_name=SENTIMENT, check_specs=[schema_check_spec("review_sentiment")], automation_condition=EAGER_OVER_FILES)
def review_sentiment(context: AssetExecutionContext, reviews: pd.DataFrame, file_sentiment: dict[str, pd.DataFrame]):
    """Per review: POSITIVE / NEGATIVE / NEUTRAL / MIXED and the four scores, from the file its version came from."""
    scored = pd.concat(file_sentiment.values(), ignore_index=True).drop(columns="review_id")
    table = reviews[["review_id", *SENTIMENT_KEY]].merge(scored, on=SENTIMENT_KEY, how="left", validate="one_to_one")
    missing = table["Sentiment"].isna()
    if missing.any():
        raise Failure(
            f"{int(missing.sum()):,} reviews have no sentiment: materialize file_sentiment for "
            f"{sorted(table.loc[missing, 'source_file'].unique())[:5]}"
        )
    table = table.drop(columns="source_file")
    mix = table["Sentiment"].value_counts().reindex(["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"], fill_value=0)
    return MaterializeResult(
        value=table,
        metadata=table_metadata(
            table,
            sentiment_mix=share_table(mix, "sentiment"),
            negative_share=float(mix["NEGATIVE"] / max(len(table), 1)),
        ),
        check_results=[schema_check_result("review_sentiment", table)],
    )
