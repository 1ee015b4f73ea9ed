"""`recsys`: run the asset graph without the UI, send its emails, evaluate models, score texts and make sample
catalogs.

Each command imports what it needs when it runs, so `recsys sentiment` and `recsys evaluate`
start without loading Dagster. Every command exits 0, or 2 with one line on stderr naming the file,
the cause and what to do (`main`); the traceback only with --verbose.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from recsys_assets.catalog.reading import utf8_error_place
from recsys_assets.files import atomic_file, describe_os_error, write_atomic
from recsys_assets.sample.customers import DEMO_DOMAIN, UNSUBSCRIBED_SHARE
from recsys_assets.sample.formats import SAMPLE_FORMATS
from recsys_assets.sentiment.vader import DEFAULT_LEXICON, LEXICONS, score_texts

# The error types that carry a message for the user (the file, the cause, what to do), by class name, so
# that checking them imports nothing: ours, and ValueError (a bad value, e.g. a sample size) with its kin
USER_ERRORS = {"PipelineError", "SettingsError", "HomeInUse", "PersonalizeFailure", "ValueError", "UnicodeError"}


def _run(args: argparse.Namespace) -> int:
    from recsys_assets.cli.run import format_summary, run_pipeline
    from recsys_assets.environment import RunOptions

    # every setting comes from the RECSYS_* variables (environment.py); the flags given override them
    options = RunOptions.from_environment()
    flags = {
        "home": args.home,
        "input_location": args.input,
        "input_format": args.format,
        "column_mapping": args.mapping,
        "num_results": args.num_results,
        "sentiment_workers": args.workers,
    }
    options = replace(options, **{name: value for name, value in flags.items() if value is not None})
    summary = run_pipeline(options, segment=args.segment, verbose=args.verbose)
    print(format_summary(summary))
    return 0


def _send(args: argparse.Namespace) -> int:
    from recsys_assets.cli.send import format_report, send_campaign
    from recsys_assets.environment import RunOptions

    options = RunOptions.from_environment()
    flags = {"home": args.home, "campaign": args.campaign}
    options = replace(options, **{name: value for name, value in flags.items() if value is not None})
    report = send_campaign(
        options,
        segment=args.segment,
        dry_run=args.dry_run,
        resend_uncertain=args.resend_uncertain,
        verbose=args.verbose,
    )
    print(format_report(report))
    return 0


def _sample(args: argparse.Namespace) -> int:
    from recsys_assets.sample.formats import write_sample
    from recsys_assets.sample.generator import draw_sample

    if args.users_for:
        return _sample_users(args)
    draw = draw_sample(n_products=args.products, n_users=args.users, n_reviews=args.reviews, seed=args.seed)
    written = write_sample(draw, args.format, args.out, args.seed, args.unsubscribed_share, args.domain)
    print(
        f"wrote {', '.join(map(str, written))} ({args.format}): {args.products:,} products, {args.users:,} users, "
        f"{args.reviews:,} reviews"
    )
    return 0


def _sample_users(args: argparse.Namespace) -> int:
    from recsys_assets.formats.reading import read_input
    from recsys_assets.sample.customers import users_for_input
    from recsys_assets.sample.formats import csv_bytes

    given = Path(args.users_for)
    files = sorted(p for p in given.iterdir() if p.name.endswith((".csv", ".csv.gz"))) if given.is_dir() else [given]
    tables = [read_input(path.read_bytes(), str(path)) for path in files]
    users = users_for_input(tables, args.seed, args.unsubscribed_share, args.domain)
    write_atomic(args.out, csv_bytes(users, compress=args.out.endswith(".gz")))
    unsubscribed = int((users["CONSENT"] == "unsubscribed").sum())
    print(f"wrote {args.out}: {len(users):,} customers of {args.users_for}, {unsubscribed:,} unsubscribed")
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
    texts = utf8_lines(Path(args.path).read_bytes(), args.path)
    if not args.out:
        _write_scores(texts, args, sys.stdout)
        return 0
    with atomic_file(args.out, "w", encoding="utf-8", newline="") as output:  # refuses a bad path before scoring
        _write_scores(texts, args, output)
    return 0


def _write_scores(texts: list[str], args: argparse.Namespace, output) -> None:
    scores = score_texts(texts, workers=args.workers, lexicon=args.lexicon)
    if args.format == "csv":
        scores.to_csv(output, index=False, lineterminator="\n")
    else:
        output.writelines(json.dumps(record) + "\n" for record in comprehend_records(scores))
    output.flush()


def _cleanup(args: argparse.Namespace) -> int:
    import logging

    from recsys_assets.defs.jobs import delete_created
    from recsys_assets.environment import RunOptions, build_resources
    from recsys_assets.home_lock import hold_home

    options = RunOptions.from_environment()
    resources = build_resources(options)
    with hold_home(options.home, "recsys cleanup"):
        deleted = delete_created(
            resources["recommender"],
            resources["storage"],
            resources["profiles"],
            logging.getLogger("recsys.cleanup"),
        )
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
    run.add_argument(
        "--format",
        help="the inputs' format: auto (each file's detected from its header), kaggle, personalize, order-lines or "
        "suppression; default $RECSYS_INPUT_FORMAT, else auto",
    )
    run.add_argument(
        "--mapping",
        help="a TOML column-mapping file (per file-name glob: format, currency, the file's column names; "
        "docs/own-data.md); default $RECSYS_COLUMN_MAP, else none",
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
    run.add_argument("--verbose", action="store_true", help="show Dagster's event log, and the traceback of an error")
    run.set_defaults(handler=_run)
    send = commands.add_parser(
        "send", help="send the campaign's emails (once per customer) on the home `recsys run` made"
    )
    send.add_argument("--campaign", help="the campaign id; default $RECSYS_CAMPAIGN, else the week's (2026-W50-weekly)")
    send.add_argument("--segment", help="send this customer segment's emails only")
    send.add_argument("--home", help="the folder `recsys run` wrote; default $RECSYS_HOME, else .recsys")
    send.add_argument(
        "--dry-run", action="store_true", help="print who would get an email and the others by reason; send nothing"
    )
    send.add_argument(
        "--resend-uncertain",
        action="store_true",
        help="send again (same Message-ID) what a sender that stopped may or may not have sent",
    )
    send.add_argument("--verbose", action="store_true", help="show Dagster's event log, and the traceback of an error")
    send.set_defaults(handler=_send)
    sample = commands.add_parser(
        "sample",
        help="write a synthetic shop in an input format, or a users file for an input's customers",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sample.add_argument(
        "--out", required=True, help="file to write (.gz: gzip-compressed); a folder for --format personalize"
    )
    sample.add_argument("--format", choices=SAMPLE_FORMATS, default=SAMPLE_FORMATS[0], help="the input format")
    sample.add_argument("--products", type=int, default=200, help="products in the catalog")
    sample.add_argument("--users", type=int, default=400, help="customers")
    sample.add_argument("--reviews", type=int, default=3000, help="reviews (and purchases) in all")
    sample.add_argument("--seed", type=int, default=7, help="the same seed writes the same shop in every format")
    sample.add_argument(
        "--users-for",
        metavar="INPUT",
        help="instead, write a Personalize users file (name, address, consent) for every customer of this input "
        "(a file, or a folder of .csv and .csv.gz files)",
    )
    sample.add_argument(
        "--unsubscribed-share", type=float, default=UNSUBSCRIBED_SHARE, help="share of customers who unsubscribed"
    )
    sample.add_argument("--domain", default=DEMO_DOMAIN, help="the domain of the demo addresses")
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
    evaluated = evaluate.add_mutually_exclusive_group(required=True)
    evaluated.add_argument("--interactions", help="CSV: USER_ID, ITEM_ID, TIMESTAMP[, EVENT_TYPE, EVENT_VALUE]")
    evaluated.add_argument(
        "--input", help="an input file (e.g. order lines, gzip or not): its events' interactions and its products"
    )
    evaluate.add_argument(
        "--format",
        default="auto",
        choices=("auto", "kaggle", "personalize", "order-lines"),
        help="the --input file's format (docs/own-data.md); default: detected from its header",
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
    for command in (sample, sentiment, evaluate, cleanup):
        command.add_argument("--verbose", action="store_true", help="show the traceback of an error")
    return root


def main(argv: list[str] | None = None) -> int:
    """Run a command: its exit code, or 2 with one line on stderr for an error (re-raised with --verbose)."""
    args = parser().parse_args(argv)
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here at the latest, not as a traceback at exit
        return code
    except BrokenPipeError:  # the reader stopped early (`recsys ... | head`): exit quietly, as Python's docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:
        if args.verbose:
            raise
        print(f"recsys {args.command} failed: {error_line(error)}", file=sys.stderr)
        return 2


def error_line(error: Exception) -> str:
    """What went wrong, on one line: the file, the cause and what to do for the errors we know; the type and
    message, with the hint to see more, for any other."""
    kinds = {kind.__name__ for kind in type(error).__mro__}
    if isinstance(error, OSError):
        text = describe_os_error(error)
    elif kinds & USER_ERRORS:
        text = str(error)
    elif type(error).__module__.startswith("botocore"):  # told apart by module: botocore is imported late
        text = f"AWS: {error}; check the endpoint, network and credentials (AWS_* variables, RECSYS_* settings)"
    else:
        text = f"unexpected error {type(error).__name__}: {error} (run with --verbose for the traceback)"
    return re.sub(r"\s*\n\s*", " ", text.strip())


if __name__ == "__main__":
    sys.exit(main())
