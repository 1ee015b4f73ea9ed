"""The variant-family detector on amazon.csv: families found, and its precision on a hand-checked sample.

Draws `--pairs` pairs of listings that landed in one family (seeded), writes their names to
benchmarks/variant_sample.csv next to the verdicts already there (`same` = yes / no, judged by reading the two
names: `yes` one product in another colour, size, length, pack or storage; `line` another model of one product
line that Amazon lists on one page, e.g. Nokia 105 and 105 Plus; `no` different products), and reports the
precision of the judged pairs, strict (`yes`) and by product line (`yes` or `line`).

    python benchmarks/bench_variants.py [--pairs 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from results import write_section

from recsys_assets.catalog.reading import parse_catalog_csv
from recsys_assets.catalog.tables import build_products, explode_reviews
from recsys_assets.curation.variants import name_key, reviewer_pairs, variant_families

ROOT = Path(__file__).resolve().parents[1]
AMAZON = ROOT.parent / "shared" / "data" / "amazon-sales" / "amazon.csv"
SAMPLE = Path(__file__).with_name("variant_sample.csv")


def family_pairs(families: pd.DataFrame) -> pd.DataFrame:
    """Every (a, b) pair of product ids in one family, a < b."""
    shared = families[families["family_size"] > 1][["family_id", "product_id"]]
    pairs = shared.merge(shared, on="family_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["product_id_a"] < pairs["product_id_b"]]
    return pairs.rename(columns={"product_id_a": "a", "product_id_b": "b"}).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    raw = parse_catalog_csv(AMAZON.read_bytes(), AMAZON.name).rows
    products, reviews = build_products(raw), explode_reviews(raw)
    started = time.perf_counter()
    families = variant_families(products, reviews)
    seconds = time.perf_counter() - started
    pairs = family_pairs(families)
    drawn = pairs.iloc[np.sort(np.random.default_rng(args.seed).choice(len(pairs), args.pairs, replace=False))]
    names = products.set_index("product_id")["product_name"]
    keys = pd.Series(name_key(products["product_name"]).to_numpy(), index=products["product_id"])
    ids = products["product_id"].reset_index(drop=True)
    jaccard = reviewer_pairs(ids, reviews, 0.0, 1)
    jaccard = pd.Series(
        jaccard["jaccard"].to_numpy(), index=pd.MultiIndex.from_arrays([ids[jaccard["a"]], ids[jaccard["b"]]])
    )
    sample = pd.DataFrame(
        {
            "a": drawn["a"].to_numpy(),
            "b": drawn["b"].to_numpy(),
            "same_name_key": (keys[drawn["a"]].to_numpy() == keys[drawn["b"]].to_numpy()),
            "reviewer_jaccard": jaccard.reindex(pd.MultiIndex.from_frame(drawn[["a", "b"]]))
            .fillna(0)
            .round(2)
            .to_numpy(),
            "name_a": names[drawn["a"]].to_numpy(),
            "name_b": names[drawn["b"]].to_numpy(),
        }
    )
    if SAMPLE.exists():
        verdicts = pd.read_csv(SAMPLE, dtype=str)[["a", "b", "same"]]
        sample = sample.merge(verdicts, on=["a", "b"], how="left")
    else:
        sample["same"] = ""
    sample.to_csv(SAMPLE, index=False)
    judged = sample[sample["same"].isin(["yes", "line", "no"])]
    verdicts = judged["same"].value_counts().reindex(["yes", "line", "no"], fill_value=0)
    sizes = families.loc[families["family_size"] > 1].drop_duplicates("family_id")["family_size"]
    body = "\n".join(
        [
            f"Measured on {time.strftime('%Y-%m-%d')} with `python benchmarks/bench_variants.py --pairs {args.pairs} "
            f"--seed {args.seed}` on amazon.csv ({len(products):,} products, detection {seconds:.2f} s).",
            "",
            f"- families with more than one listing: {len(sizes):,}, holding {int(sizes.sum()):,} products "
            f"(sizes {sizes.value_counts().sort_index().to_dict()}); {len(pairs):,} same-family pairs",
            f"- {len(judged)} pairs drawn at random (seed {args.seed}) from those pairs, judged by hand from the two "
            f"names (`benchmarks/variant_sample.csv`): {verdicts['yes']} one product in another colour, size, pack "
            f"or storage, {verdicts['line']} another model of the same product line (Amazon lists them on one page, "
            f"e.g. Nokia 105 / 105 Plus), {verdicts['no']} different products: precision "
            f"{verdicts['yes'] / max(len(judged), 1):.0%} strict, "
            f"{(verdicts['yes'] + verdicts['line']) / max(len(judged), 1):.0%} counting the product line",
        ]
    )
    print(body)
    write_section("variants", "Variant families (amazon.csv)", body)


if __name__ == "__main__":
    main()
