"""`recsys`: run the asset graph without the UI, evaluate models, score texts and make sample catalogs.

Each command imports what it needs when it runs, so `recsys sentiment` and `recsys evaluate`
start without loading Dagster.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from recsys_assets.catalog.reading import utf8_error_place
from recsys_assets.sentiment.vader import DEFAULT_LEXICON, LEXICONS, score_texts


def _run(args: argparse.Namespace) -> int:
    from recsys_assets.cli.run import PipelineError, format_summary, run_pipeline
    from recsys_assets.environment import RunOptions, SettingsError

    try:
        # every setting comes from the RECSYS_* variables (environment.py); the flags given override them
        options = RunOptions.from_environment()
        flags = {
            "home": args.home,
            "input_location": args.input,
            "num_results": args.num_results,
            "sentiment_workers": args.workers,
        }
        options = replace(options, **{name: value for name, value in flags.items() if value is not None})
        summary = run_pipeline(options, segment=args.segment, verbose=args.verbose)
    except (PipelineError, SettingsError) as error:
        print(f"recsys run failed: {error}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from recsys_assets.sample.generator import generate_catalog, write_catalog

    catalog = generate_catalog(n_products=args.products, n_users=args.users, n_reviews=args.reviews, seed=args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_catalog(catalog, args.out)
    print(f"wrote {args.out}: {len(catalog):,} products, {args.users:,} users, {args.reviews:,} reviews")
    return 0


def utf8_lines(data: bytes, source: str) -> list[str]:
    """The lines of a UTF-8 text (a BOM is dropped); a byte that is not UTF-8 is an error naming its line and column."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{source}: {utf8_error_place(body, error)}") from None
    return [line.rstrip("\r\n") for line in io.StringIO(text, newline=None)]  # \n, \r\n or \r, as open() reads lines


def comprehend_records(scores: pd.DataFrame) -> list[dict]:
    """Scores as Comprehend's DetectSentiment responses: {"Sentiment": ..., "SentimentScore": {"Positive": ...}}."""
    labels = scores["Sentiment"].tolist()
    score_rows = scores.drop(columns="Sentiment").to_dict(orient="records")
    return [{"Sentiment": label, "SentimentScore": row} for label, row in zip(labels, score_rows)]


def _sentiment(args: argparse.Namespace) -> int:
    try:
        texts = utf8_lines(Path(args.path).read_bytes(), args.path)
        output = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    except (OSError, ValueError) as error:
        print(f"recsys sentiment failed: {error}", file=sys.stderr)
        return 2
    scores = score_texts(texts, workers=args.workers, lexicon=args.lexicon)
    try:
        if args.format == "csv":
            scores.to_csv(output, index=False, lineterminator="\n")
        else:
            output.writelines(json.dumps(record) + "\n" for record in comprehend_records(scores))
        output.flush()
    finally:
        if args.out:
            output.close()
    return 0


def _cleanup(args: argparse.Namespace) -> int:
    import logging

    from botocore.exceptions import BotoCoreError, ClientError

    from recsys_assets.aws_formats.personalize_api import PersonalizeFailure
    from recsys_assets.defs.jobs import delete_created
    from recsys_assets.environment import RunOptions, build_resources

    resources = build_resources(RunOptions.from_environment())
    try:
        deleted = delete_created(
            resources["recommender"],
            resources["storage"],
            resources["profiles"],
            logging.getLogger("recsys.cleanup"),
        )
    except (PersonalizeFailure, ClientError, BotoCoreError) as error:
        print(f"recsys cleanup failed: {error}", file=sys.stderr)
        return 2
    print(
        "\n".join([f"recsys cleanup: deleted {len(deleted)} resources and objects", *(f"  {name}" for name in deleted)])
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from recsys_assets.cli.evaluate import evaluate_command

    return evaluate_command(args)


def _count(text: str) -> int:
    """An argparse type: a whole number, 0 or more (`recsys run` leaves its counts to `RunOptions`)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is below 0")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="recsys", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialize every asset and print a summary")
    run.add_argument(
        "--input", help="catalog CSV, or a folder of them (an inbox); default $RECSYS_INPUT, else data/inbox"
    )
    run.add_argument("--segment", help="re-run the recommendations and emails of this customer segment only")
    run.add_argument("--home", help="folder for every output; default $RECSYS_HOME, else .recsys")
    run.add_argument(
        "--num-results", type=int, help="recommendations per customer; default $RECSYS_NUM_RESULTS, else 5"
    )
    run.add_argument(
        "--workers",
        type=int,
        help="sentiment processes (0: one per core, for large inputs); default $RECSYS_SENTIMENT_WORKERS, else 0",
    )
    run.add_argument("--verbose", action="store_true", help="show Dagster's event log")
    run.set_defaults(handler=_run)
    sample = commands.add_parser("sample", help="write a synthetic catalog in the amazon.csv format")
    sample.add_argument("--out", required=True)
    sample.add_argument("--products", type=int, default=200)
    sample.add_argument("--users", type=int, default=400)
    sample.add_argument("--reviews", type=int, default=3000)
    sample.add_argument("--seed", type=int, default=7)
    sample.set_defaults(handler=_sample)
    sentiment = commands.add_parser("sentiment", help="score a text file, one text per line, in Comprehend's shape")
    sentiment.add_argument("path", help="UTF-8 text file, one text per line")
    sentiment.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    sentiment.add_argument("--out", help="output file (default: standard output)")
    sentiment.add_argument(
        "--lexicon", choices=LEXICONS, default=DEFAULT_LEXICON, help="plain VADER or VADER + review words"
    )
    sentiment.add_argument("--workers", type=_count, default=0, help="processes (0: one per core, for large inputs)")
    sentiment.set_defaults(handler=_sentiment)
    evaluate = commands.add_parser(
        "evaluate", help="Personalize's offline metrics of every local model on interactions"
    )
    evaluate.add_argument(
        "--interactions", required=True, help="CSV: USER_ID, ITEM_ID, TIMESTAMP[, EVENT_TYPE, EVENT_VALUE]"
    )
    evaluate.add_argument("--items", help="CSV: ITEM_ID plus metadata columns (CATEGORY, NAME, DESCRIPTION, ...)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    evaluate.add_argument(
        "--quarantine", help="write the rows left out (file, line, column, reason, raw row) to this CSV"
    )
    evaluate.set_defaults(handler=_evaluate)
    cleanup = commands.add_parser(
        "cleanup", help="delete what the pipeline created on AWS (settings from RECSYS_* variables)"
    )
    cleanup.set_defaults(handler=_cleanup)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here at the latest, not as a traceback at exit
        return code
    except BrokenPipeError:  # the reader stopped early (`recsys ... | head`): exit quietly, as Python's docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
