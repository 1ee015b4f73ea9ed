"""What customers are served, read from `recsys run` outputs: picks per customer, two listings of one variant
family (by the variant_families table of the run given last), picks rated below a minimum.

    python benchmarks/bench_picks.py HOME [HOME ...] [--min-rating 3.5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from recsys_assets.curation.variants import variant_families


def table(home: Path, name: str) -> pd.DataFrame:
    """An asset table of a run's home (a partitioned one is the concatenation of its partitions)."""
    folder = home / "assets" / name
    if folder.is_dir():
        return pd.concat([pd.read_parquet(path) for path in sorted(folder.glob("*.parquet"))], ignore_index=True)
    return pd.read_parquet(home / "assets" / f"{name}.parquet")


def served(home: Path, families: pd.DataFrame, min_rating: float) -> dict[str, int]:
    """Customers, and those whose list holds two listings of one family; picks rated below `min_rating`."""
    recommendations = table(home, "recommendations")
    products = table(home, "products").set_index("product_id")
    family = recommendations["ITEM_ID"].map(families.set_index("product_id")["family_id"])
    twice = pd.DataFrame({"user": recommendations["USER_ID"], "family": family}).duplicated()
    rating = recommendations["ITEM_ID"].map(products["rating"])
    return {
        "customers": int(recommendations["USER_ID"].nunique()),
        "customers_with_two_of_a_family": int(recommendations.loc[twice, "USER_ID"].nunique()),
        "picks": len(recommendations),
        "picks_rated_below": int((rating < min_rating).sum()),
        "picks_unrated": int(rating.isna().sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("homes", nargs="+", type=Path)
    parser.add_argument("--min-rating", type=float, default=3.5)
    args = parser.parse_args()
    last = args.homes[-1]
    families = variant_families(table(last, "products"), table(last, "reviews"))
    for home in args.homes:
        print(home, served(home, families, args.min_rating))


if __name__ == "__main__":
    main()
