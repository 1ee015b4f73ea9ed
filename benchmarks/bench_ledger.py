"""How fast the SQLite delivery ledger claims and finishes: 100k customers in one claim and in chunks, a claim
that finds every customer taken, finishes one at a time, the frequency cap's read, and two processes racing.

    python benchmarks/bench_ledger.py [--customers 100000] [--write]

--write puts the table into benchmarks/RESULTS.md between the BEGIN/END ledger markers.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

import pandas as pd
from results import write_section

from recsys_assets.resources.delivery_ledger import SqliteDeliveryLedger

CAMPAIGN = "2026-12-weekly"
FINISHES = 5_000


def claim_rows(customers: int) -> pd.DataFrame:
    numbers = range(customers)
    return pd.DataFrame(
        {
            "user_id": [f"C{n:07d}" for n in numbers],
            "email": [f"c{n}@shop.test" for n in numbers],
            "message_id": [f"<{CAMPAIGN}.C{n:07d}@shop.test>" for n in numbers],
            "status": ["holdout" if n % 10 == 0 else "sending" for n in numbers],
        }
    )


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def claim_in_chunks(ledger: SqliteDeliveryLedger, campaign: str, rows: pd.DataFrame, owner: str, chunk: int) -> int:
    return sum(
        len(ledger.claim(campaign, rows.iloc[first : first + chunk], owner, 3600.0))
        for first in range(0, len(rows), chunk)
    )


def race(path: str, customers: int, owner: str, reverse: bool, start, results) -> None:
    rows = claim_rows(customers)
    rows = rows.iloc[::-1] if reverse else rows
    ledger = SqliteDeliveryLedger(path=path)
    start.wait()
    results.put(claim_in_chunks(ledger, "race", rows, owner, 1_000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows, n = claim_rows(args.customers), args.customers
    lines = ["| what | customers | seconds | per second |", "| --- | ---: | ---: | ---: |"]

    def report(what: str, count: int, seconds: float) -> None:
        lines.append(f"| {what} | {count:,} | {seconds:.2f} | {count / seconds:,.0f} |")
        print(lines[-1], flush=True)

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "profiles.sqlite")
        ledger = SqliteDeliveryLedger(path=path)
        seconds, claimed = timed(lambda: len(ledger.claim(CAMPAIGN, rows, "one-call", 3600.0)))
        report("claim, one call", claimed, seconds)
        seconds, claimed = timed(lambda: claim_in_chunks(ledger, "chunks", rows, "chunks", 1_000))
        report("claim, 1,000 a call", claimed, seconds)
        seconds, _ = timed(lambda: ledger.claim(CAMPAIGN, rows, "late", 3600.0))
        report("claim, every customer already taken", n, seconds)
        sending = rows.loc[rows["status"] == "sending", "user_id"].head(FINISHES)
        seconds, _ = timed(lambda: [ledger.finish(CAMPAIGN, user_id, "sent", provider_id="id") for user_id in sending])
        report("finish, one call each", len(sending), seconds)
        seconds, mailed = timed(lambda: len(ledger.mailed_since(0.0)))
        report("mailed_since (frequency cap read)", mailed, seconds)
        seconds, read = timed(lambda: len(ledger.rows(CAMPAIGN)))
        report("rows of the campaign", read, seconds)

        context = multiprocessing.get_context("spawn")
        start, results = context.Barrier(3), context.Queue()
        racers = [context.Process(target=race, args=(path, n, f"p{i}", i == 1, start, results)) for i in (0, 1)]
        for racer in racers:
            racer.start()
        start.wait()
        seconds, won = timed(lambda: [results.get() for _ in racers])
        for racer in racers:
            racer.join()
        report("two processes racing, 1,000 a call (each customer once)", sum(won), seconds)
        assert sum(won) == n, f"{sum(won)} claims won for {n} customers"

    machine = f"{platform.python_implementation()} {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    body = "\n".join(
        [
            f"`python benchmarks/bench_ledger.py --customers {n}` ({machine}, WAL; claims synced to disk, finishes "
            f"not; a 2-core VM shared with other jobs, load average {load:.1f} at the start).",
            "",
            *lines,
        ]
    )
    if args.write:
        write_section("ledger", "Delivery ledger (SQLite)", body)


if __name__ == "__main__":
    main()
