"""Issue 14's "Done means" figures, read from every .eml a run wrote: greetings, variant families, subjects and
what a sender needs (the sendability audit's problems, emails/audit.py), as a markdown table.

    python benchmarks/bench_emails.py --home amazon=/tmp/home                 # a home a run already wrote
    python benchmarks/bench_emails.py --input sample=data/inbox/sample.csv    # `recsys run` into a temporary home
    ... [--families amazon=other_home/assets/variant_families.parquet] [--write "label"]

Each --input is run with /usr/bin/time -v (wall time and peak memory in the table). Emails with two listings of one
variant family are counted on the home's served recommendations (the items the emails show), with the home's
`variant_families` table (product_id, family_id) or the one given for it with --families; without one it is n/a.
"""

from __future__ import annotations

import argparse
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from results import write_section

from recsys_assets.emails.audit import GREETING_CHARS, email_problems, read_eml
from recsys_assets.emails.frame import Brand
from recsys_assets.emails.subject import SUBJECT_CHARS

# The greeted name, from the opening line of the plain-text part.
GREETED = re.compile(r"^[ \t]*(?:Hi|Hello|Hey|Dear)[ \t]+([^,\n]+),", re.MULTILINE)
# Words that mark a company, shop or channel, not a person: an independent yardstick, not the greeting's own rules.
COMPANY = re.compile(
    r"\b(?:pvt|private|ltd|limited|llp|llc|inc|corp|company|enterprises?|traders?|trading|stores?|shop|mart|"
    r"technologies|tech|solutions?|services?|industries|electronics|mobiles?|official|channel|reviews)\b",
    re.IGNORECASE,
)
# The audit's problem kinds behind each "every email has ..." row.
HAS = {
    "viewport": ["no viewport meta"],
    "unsubscribe link (text and HTML)": [f"no unsubscribe link in the {part} part" for part in ("text", "HTML")],
    "List-Unsubscribe (https and mailto)": [f"List-Unsubscribe without {a}" for a in ("an https URL", "a mailto")],
    "List-Unsubscribe-Post": ["List-Unsubscribe-Post is not List-Unsubscribe=One-Click"],
    "Date": ["no Date"],
    "Message-ID": ["no Message-ID"],
    "postal address (text and HTML)": [f"no postal address in the {part} part" for part in ("text", "HTML")],
    "alt text on every image": ["an image without alt text"],
}
RUN = "import sys; from recsys_assets.cli import main; sys.exit(main())"


def run_recsys(input_file: str, home: Path) -> dict:
    """`recsys run --input F --home H` under /usr/bin/time -v: wall seconds and peak memory (MB)."""
    command = ["/usr/bin/time", "-v", sys.executable, "-c", RUN, "run", "--input", input_file, "--home", str(home)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    hours, minutes, seconds = (float(part or 0) for part in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return {"recsys run": f"{hours * 3600 + minutes * 60 + seconds:.1f} s, {rss / 1024:,.0f} MB"}


def served_families(home: Path, families: Path | None) -> pd.DataFrame | None:
    """Served (user, item) rows with the item's family, or None without a variant_families table."""
    table = families or home / "assets" / "variant_families.parquet"
    if not table.exists():
        return None
    recommendations = pd.concat(
        [pd.read_parquet(path, columns=["USER_ID", "ITEM_ID"]) for path in (home / "assets/recommendations").glob("*")]
    )
    family = pd.read_parquet(table, columns=["product_id", "family_id"]).drop_duplicates("product_id")
    return recommendations.merge(family, left_on="ITEM_ID", right_on="product_id", how="left")


def measure(home: Path, families: Path | None, postal_address: str) -> dict:
    """The figures of one home's emails."""
    files = sorted((home / "emails").glob("*/*.eml"))
    data = [path.read_bytes() for path in files]
    started = time.process_time()
    emails = [read_eml(eml) for eml in data]
    problems = [email_problems(email, postal_address) for email in emails]
    audit_seconds = time.process_time() - started
    kinds = Counter(kind for found in problems for kind in set(found))
    greeted = [m.group(1).strip() if (m := GREETED.search(e.text, 0, GREETING_CHARS)) else "" for e in emails]
    names = ["" if name.lower() == "there" else name for name in greeted]  # "Hi there," greets no one by name
    subjects = [len(email.subject) for email in emails]
    count = max(len(emails), 1)

    def share(n: int) -> str:
        return f"{n:,} ({n / count:.1%})"

    figures = {
        "emails": f"{len(emails):,}",
        "greeting or subject with a placeholder name": share(kinds["a placeholder name in the greeting or subject"]),
        "greeting a company name as a person": share(sum(bool(COMPANY.search(name)) for name in names)),
        "greeting with no name (generic)": share(sum(not name for name in names)),
    }
    served = served_families(home, families)
    if served is None:
        figures["emails with two listings of one variant family"] = "n/a (no variant_families table)"
    else:
        known = served.dropna(subset=["family_id"])
        doubled = known.groupby(["USER_ID", "family_id"]).size().loc[lambda n: n > 1].reset_index()["USER_ID"]
        figures["emails with two listings of one variant family"] = share(doubled.nunique())
    figures |= {
        "subject length, median / max": f"{statistics.median(subjects):.0f} / {max(subjects)}" if subjects else "n/a",
        f"subjects over {SUBJECT_CHARS} characters": share(kinds[f"subject over {SUBJECT_CHARS} characters"]),
        "subjects cut with …": share(kinds["subject cut mid-word"]),
    }
    for label, missing in HAS.items():
        figures[f"has {label}"] = share(sum(not set(missing) & set(found) for found in problems))
    figures["sendable (no audit problem)"] = share(sum(not found for found in problems))
    figures["audit of every email (read + check, CPU time)"] = (
        f"{audit_seconds:.2f} s ({audit_seconds / count * 1e6:.0f} µs an email)"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", action="append", default=[], metavar="NAME=PATH", help="a home a run wrote")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=FILE", help="run recsys on FILE")
    parser.add_argument(
        "--families", action="append", default=[], metavar="NAME=PATH", help="the variant_families parquet for NAME"
    )
    parser.add_argument("--postal-address", default=Brand().postal_address, help="the brand's postal address")
    parser.add_argument("--write", metavar="LABEL", help="write the table to RESULTS.md as section 'emails LABEL'")
    args = parser.parse_args()
    families = {name: Path(path) for name, path in (item.split("=", 1) for item in args.families)}
    columns = {}
    with tempfile.TemporaryDirectory(prefix="bench_emails_") as scratch:
        for name, path in (item.split("=", 1) for item in args.home):
            columns[name] = measure(Path(path), families.get(name), args.postal_address)
        for name, path in (item.split("=", 1) for item in args.input):
            home = Path(scratch) / name
            timing = run_recsys(path, home)
            columns[name] = measure(home, families.get(name), args.postal_address) | timing
    rows = list(dict.fromkeys(row for figures in columns.values() for row in figures))
    table = ["| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    table += [f"| {row} | " + " | ".join(figures.get(row, "") for figures in columns.values()) + " |" for row in rows]
    command = shlex.join(["python", "benchmarks/bench_emails.py", *sys.argv[1:]])
    body = f"Measured on {time.strftime('%Y-%m-%d')} with `{command}`.\n\n" + "\n".join(table)
    print(body)
    if args.write:
        write_section(f"emails {args.write}", f"Issue 14: the emails, {args.write}", body)


if __name__ == "__main__":
    main()
