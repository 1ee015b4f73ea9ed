"""The served picks: a recommender's candidates after the campaign's rules, one per variant family and a cap per
category and brand, re-ranked greedily and topped up from the popular items that obey the same rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_assets.curation.rules import RULES, Rules, broken_rules

POPULARITY_SOURCE = "popularity"
# Users left short choose from this many popular items per result they lack a pick for.
TOP_UP_POOL = 4


def positive_counts(interactions: pd.DataFrame) -> pd.Series:
    """Positive interactions (EVENT_VALUE > 0) per ITEM_ID: the popularity the top-up ranks by."""
    return interactions.loc[interactions["EVENT_VALUE"] > 0, "ITEM_ID"].astype(str).value_counts()


def item_facts(
    item_ids: pd.Series,
    popularity: pd.Series,
    family: pd.Series | None = None,
    category: pd.Series | None = None,
    brand: pd.Series | None = None,
    broken: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What the re-ranking knows of each item (index ITEM_ID): FAMILY (default: the item itself), CATEGORY and
    BRAND ("" = not capped), POPULARITY, and the rules it breaks (default: none). Optional inputs align by position."""
    ids = pd.Series(item_ids, dtype="str").reset_index(drop=True)
    index = pd.Index(ids, name="ITEM_ID")

    def given(values: pd.Series | None, default: pd.Series) -> np.ndarray:
        return default.to_numpy() if values is None else pd.Series(values).fillna("").astype(str).to_numpy()

    facts = pd.DataFrame(
        {
            "FAMILY": given(family, ids),
            "CATEGORY": given(category, pd.Series("", index=ids.index)),
            "BRAND": given(brand, pd.Series("", index=ids.index)),
            "POPULARITY": popularity.reindex(index, fill_value=0).to_numpy(dtype=np.int64),
        },
        index=index,
    )
    rules = broken.reset_index(drop=True) if broken is not None else pd.DataFrame(False, ids.index, list(RULES))
    return pd.concat([facts, rules.set_axis(index)], axis=1)


def catalog_facts(
    products: pd.DataFrame,
    families: pd.DataFrame,
    interactions: pd.DataFrame,
    rules: Rules,
    anonymous_popularity: pd.Series | None = None,
) -> pd.DataFrame:
    """`item_facts` of a catalog: families from the variant_families table, the leaf category, the products' brand;
    the popularity of the positive interactions plus `anonymous_popularity` (events of no customer, per item)."""
    family = products["product_id"].map(families.set_index("product_id")["family_id"])
    popularity = positive_counts(interactions)
    if anonymous_popularity is not None:
        popularity = popularity.add(anonymous_popularity.set_axis(anonymous_popularity.index.astype(str)), fill_value=0)
    return item_facts(
        products["product_id"],
        popularity,
        family=family.fillna(products["product_id"]),
        category=products["leaf_category"],
        brand=products["brand"],
        broken=broken_rules(products, rules),
    )


@dataclass(frozen=True)
class Curated:
    """The served table and what the raw top-N lists broke (`report`, JSON-ready counts)."""

    table: pd.DataFrame
    report: dict[str, int]


def _pair_codes(user: np.ndarray, key: np.ndarray) -> np.ndarray:
    """One code per distinct (user, key) pair."""
    return pd.DataFrame({"user": user, "key": key}).groupby(["user", "key"], sort=False).ngroup().to_numpy()


def _greedy(user: np.ndarray, facts: pd.DataFrame, need: int, rules: Rules) -> np.ndarray:
    """Which rows (sorted by user, best first) a greedy pass keeps: at most `need` per user, one per family, at most
    `rules.max_per_category` per CATEGORY and `max_per_brand` per BRAND ("" is not capped)."""
    position = np.arange(len(user)) - np.searchsorted(user, user)
    family = _pair_codes(user, facts["FAMILY"].to_numpy())
    category, brand = _pair_codes(user, facts["CATEGORY"].to_numpy()), _pair_codes(user, facts["BRAND"].to_numpy())
    uncapped_category, uncapped_brand = (facts["CATEGORY"] == "").to_numpy(), (facts["BRAND"] == "").to_numpy()
    taken = np.zeros(int(user.max(initial=-1)) + 1, dtype=np.int64)
    counts = [np.zeros(int(codes.max(initial=-1)) + 1, dtype=np.int64) for codes in (family, category, brand)]
    kept = np.zeros(len(user), dtype=bool)
    by_position = np.argsort(position, kind="stable")
    bounds = np.searchsorted(position[by_position], np.arange(int(position.max(initial=-1)) + 2))
    for start, end in zip(bounds[:-1], bounds[1:]):
        rows = by_position[start:end]
        ok = (
            (taken[user[rows]] < need)
            & (counts[0][family[rows]] == 0)
            & (uncapped_category[rows] | (counts[1][category[rows]] < rules.max_per_category))
            & (uncapped_brand[rows] | (counts[2][brand[rows]] < rules.max_per_brand))
        )
        rows = rows[ok]
        kept[rows] = True
        taken[user[rows]] += 1
        for count, codes in zip(counts, (family, category, brand)):
            count[codes[rows]] += 1
    return kept


def _with_facts(rows: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """`facts` of each row's ITEM_ID; an item the facts do not know is its own family, uncapped, breaking no rule."""
    known = facts.reindex(rows["ITEM_ID"].astype(str))
    known["FAMILY"] = known["FAMILY"].fillna(rows["ITEM_ID"].astype(str).set_axis(known.index))
    known[["CATEGORY", "BRAND"]] = known[["CATEGORY", "BRAND"]].fillna("")
    known[list(RULES)] = known[list(RULES)].fillna(False).astype(bool)
    return known.reset_index(drop=True)


def _raw_report(raw: pd.DataFrame, facts: pd.DataFrame, reviewed_family: np.ndarray, rules: Rules) -> dict[str, int]:
    """What the raw top-N rows break: each rule, a family already picked above or reviewed, the caps."""
    user = raw["USER_ID"].to_numpy()
    repeated = pd.DataFrame({"user": user, "family": facts["FAMILY"]}).duplicated().to_numpy()

    def over_cap(column: str, cap: int) -> int:
        capped = facts[column] != ""
        seen = pd.DataFrame({"user": user, "key": facts[column]}).groupby(["user", "key"]).cumcount() >= cap
        return int((capped & seen).sum())

    return {
        **{rule: int(facts[rule].sum()) for rule in RULES},
        "same_family": int((repeated | reviewed_family).sum()),
        "over_category_cap": over_cap("CATEGORY", rules.max_per_category),
        "over_brand_cap": over_cap("BRAND", rules.max_per_brand),
    }


def curate(
    candidates: pd.DataFrame, facts: pd.DataFrame, history: pd.DataFrame, rules: Rules, num_results: int
) -> Curated:
    """The first `num_results` candidates per user (by RANK) that break no rule, are not of a family the user
    reviewed or already got, and keep within the caps; users left short get the most popular allowed items
    (one per family, not reviewed) through the same pass. RANK restarts at 1; other columns are kept."""
    rows = candidates.sort_values(["USER_ID", "RANK"], kind="stable").reset_index(drop=True)
    rows_facts = _with_facts(rows, facts)
    reviewed = pd.MultiIndex.from_arrays(
        [history["USER_ID"].astype(str), _with_facts(history[["ITEM_ID"]], facts)["FAMILY"].to_numpy()]
    )
    reviewed_family = pd.MultiIndex.from_arrays([rows["USER_ID"].astype(str), rows_facts["FAMILY"]]).isin(reviewed)
    raw = (rows["RANK"] <= num_results).to_numpy()
    report = _raw_report(rows[raw], rows_facts[raw].reset_index(drop=True), reviewed_family[raw], rules)

    allowed = ~rows_facts[list(RULES)].any(axis=1).to_numpy() & ~reviewed_family
    rows, rows_facts = rows[allowed].reset_index(drop=True), rows_facts[allowed].reset_index(drop=True)
    users = pd.Index(np.unique(candidates["USER_ID"].to_numpy(dtype=str)))
    user = users.get_indexer(rows["USER_ID"].astype(str))
    kept = _greedy(user, rows_facts, num_results, rules)
    served = rows[kept]
    short = users[np.bincount(user[kept], minlength=len(users)) < num_results]
    topped_up = _topped_up(served[served["USER_ID"].isin(short)], short, facts, reviewed, rules, num_results)
    served = pd.concat([served[~served["USER_ID"].isin(short)], topped_up.drop(columns="TOPPED_UP")])
    served = served.sort_values("USER_ID", kind="stable").reset_index(drop=True)
    served["RANK"] = (served.groupby("USER_ID", sort=False).cumcount() + 1).astype("int64")
    counts = served.groupby("USER_ID").size().reindex(users, fill_value=0)
    report |= {
        "served": len(served),
        "topped_up": int(topped_up["TOPPED_UP"].sum()),
        "customers_short": int((counts < num_results).sum()),
    }
    return Curated(served, report)


def _topped_up(
    picked: pd.DataFrame,
    users: pd.Index,
    facts: pd.DataFrame,
    reviewed: pd.MultiIndex,
    rules: Rules,
    num_results: int,
) -> pd.DataFrame:
    """The picks of `users` (sorted) followed by the most popular allowed items (one per family, not of a reviewed
    family), through the greedy pass again; TOPPED_UP marks the added rows."""
    allowed = facts[~facts[list(RULES)].any(axis=1)]
    popular = allowed.sort_values("POPULARITY", ascending=False, kind="stable").drop_duplicates("FAMILY")
    popular = popular.head(num_results * TOP_UP_POOL)
    added = pd.DataFrame(
        {
            "USER_ID": np.repeat(users.to_numpy(dtype=str), len(popular)),
            "RANK": 0,  # renumbered once picked
            "ITEM_ID": np.tile(popular.index.to_numpy(dtype=str), len(users)),
            "SCORE": np.tile(popular["POPULARITY"].to_numpy(dtype=np.float64), len(users)),
            "SOURCE": POPULARITY_SOURCE,
        }
    )
    added[["REASON_ITEM_ID", "REASON_CATEGORY"]] = pd.DataFrame(None, added.index, ["a", "b"], dtype="str")
    added = added[
        ~pd.MultiIndex.from_arrays([added["USER_ID"], np.tile(popular["FAMILY"].to_numpy(), len(users))]).isin(reviewed)
    ]
    rows = pd.concat([picked.assign(TOPPED_UP=False), added.assign(TOPPED_UP=True)], ignore_index=True)
    rows = rows.drop_duplicates(["USER_ID", "ITEM_ID"]).sort_values("USER_ID", kind="stable").reset_index(drop=True)
    user = users.get_indexer(rows["USER_ID"].astype(str))
    return rows[_greedy(user, _with_facts(rows, facts), num_results, rules)]


def with_reason_events(table: pd.DataFrame, interactions: pd.DataFrame) -> pd.DataFrame:
    """`table` with REASON_EVENT: the event type of the customer's interaction with the pick's REASON_ITEM_ID
    (review, purchase, view, ...; null without a reason item), so an email says how the customer knows it."""
    events = interactions[["USER_ID", "ITEM_ID", "EVENT_TYPE"]].drop_duplicates(["USER_ID", "ITEM_ID"], keep="last")
    events = events.set_axis(["USER_ID", "REASON_ITEM_ID", "REASON_EVENT"], axis=1).astype("string")
    keys = table[["USER_ID", "REASON_ITEM_ID"]].astype("string")
    joined = keys.merge(events, on=["USER_ID", "REASON_ITEM_ID"], how="left")
    return table.assign(REASON_EVENT=joined["REASON_EVENT"].to_numpy())
