"""benchmarks/RESULTS.md: each benchmark owns one section between its BEGIN/END markers."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(name: str, title: str, body: str) -> None:
    """Replace section `name` of RESULTS.md with `body`; a new section is appended under `## title`."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    if begin not in text:
        text = f"{text.rstrip()}\n\n## {title}\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    RESULTS.write_text(f"{head}{begin}\n{body.rstrip()}\n{end}{rest.split(end, 1)[1]}")
