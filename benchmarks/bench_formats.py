"""Read time of a generated Amazon Personalize interactions file through formats.reading.read_input.

`--rows` interactions of 20,000 users and 5,000 items (USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE,
QUANTITY, PRICE), read as CSV and as gzip-compressed CSV: wall seconds of each read and this process's peak memory.

    python benchmarks/bench_formats.py [--rows 500000]
"""

from __future__ import annotations

import argparse
import gzip
import time

import numpy as np
import pandas as pd
from memory import peak_rss_mb

from recsys_assets.formats.reading import read_input


def interactions_csv(rows: int, seed: int = 3) -> bytes:
    """A Personalize interactions file of `rows` events (one in ten a purchase with a quantity and a price)."""
    rng = np.random.default_rng(seed)
    purchase = rng.random(rows) < 0.1
    frame = pd.DataFrame(
        {
            "USER_ID": np.char.add("u", rng.integers(0, 20_000, rows).astype(str)),
            "ITEM_ID": np.char.add("i", rng.integers(0, 5_000, rows).astype(str)),
            "TIMESTAMP": rng.integers(1_600_000_000, 1_700_000_000, rows),
            "EVENT_TYPE": np.where(purchase, "purchase", "view"),
            "EVENT_VALUE": np.where(purchase, 1.0, 0.2),
            "QUANTITY": np.where(purchase, rng.integers(1, 5, rows).astype(str), ""),
            "PRICE": np.where(purchase, rng.uniform(1, 100, rows).round(2).astype(str), ""),
        }
    )
    return frame.to_csv(index=False).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    rows = parser.parse_args().rows
    data = interactions_csv(rows)
    for name, payload in (("interactions.csv", data), ("interactions.csv.gz", gzip.compress(data, 6))):
        start = time.perf_counter()
        tables = read_input(payload, name)
        seconds = time.perf_counter() - start
        print(
            f"{name}: {len(payload) / 2**20:.1f} MiB, {len(tables.events):,} events, {len(tables.rejected):,} "
            f"quarantined, {seconds:.1f} s"
        )
    print(f"peak memory {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
