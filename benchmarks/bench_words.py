"""Greeting kinds of a catalog's customers, a fixed-seed sample of names to hand-check, and the subjects and
preview texts of a home's written emails (docs/emails.md, "Greeting" and "Subject and preview text").

    python benchmarks/bench_words.py ../shared/data/amazon-sales/amazon.csv [--home /tmp/w_home]
"""

from __future__ import annotations

import argparse
import email
import statistics
from email.policy import default
from pathlib import Path

from recsys_assets.catalog.tables import build_users
from recsys_assets.emails.greeting import first_names
from recsys_assets.formats.kaggle import read_kaggle

SAMPLE, SEED = 60, 14


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("--home", type=Path, help="a `recsys run` home whose emails/ to read")
    args = parser.parse_args()
    tables = read_kaggle(args.catalog.read_bytes(), str(args.catalog))
    users = build_users(tables.reviews, tables.events, tables.customers, tables.products)
    names = first_names(users["user_name"]).assign(name=users["user_name"])
    print(f"{len(users)} users by kind: {names['kind'].value_counts().to_dict()}")
    distinct = names.drop_duplicates("name")
    print(f"{len(distinct)} distinct names by kind: {distinct['kind'].value_counts().to_dict()}")
    for row in distinct.sample(min(SAMPLE, len(distinct)), random_state=SEED).itertuples():
        print(f"  {row.name!r:40} -> {row.first_name!r:20} {row.kind}")
    if args.home:
        messages = [email.message_from_bytes(p.read_bytes(), policy=default) for p in args.home.glob("emails/**/*.eml")]
        subjects = [str(m["Subject"]) for m in messages]
        preheaders = [m.get_body(("plain",)).get_content().splitlines()[0] for m in messages]
        for label, texts in (("subject", subjects), ("preview text", preheaders)):
            lengths = [len(t) for t in texts]
            print(
                f"{len(texts)} emails, {label}: median {statistics.median(lengths)}, min {min(lengths)}, "
                f"max {max(lengths)}, ending in '…' {sum(t.endswith('…') for t in texts)}"
            )


if __name__ == "__main__":
    main()
