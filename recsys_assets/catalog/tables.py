"""The catalog's tables built from validated rows: products, one row per review, users."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_assets.catalog.fields import AGE_RANGE, TIMESTAMP_RANGE, parse_number, split_list, whole_numbers

# Tried in order; the first that yields one piece per reviewer wins (docs/input.md, "Building the tables").
TEXT_SPLIT_PATTERNS = (r",(?!\s)", r"(?<!\d),(?!\s)", r",(?=[^\s\d])", r",(?!\s)(?!\.)")
# Without review dates: this epoch (2023-01-17) + 60 s per line + 1 s per list position (docs/input.md).
DEFAULT_BASE_EPOCH = 1_673_913_600


def build_products(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per product_id (later rows of a duplicated product win), with parsed numbers and category levels."""
    latest = raw.assign(product_id=raw["product_id"].str.strip()).drop_duplicates("product_id", keep="last")
    latest = latest.sort_values("product_id", kind="stable")
    path = latest["category"].fillna("").str.split("|", regex=False)
    products = pd.DataFrame(
        {
            "product_id": latest["product_id"],
            "product_name": latest["product_name"].str.strip(),
            "category_path": latest["category"],
            "top_category": path.str[0].fillna(""),
            "leaf_category": path.str[-1].fillna(""),
            "category_depth": path.str.len().astype("int64"),
            "discounted_price": parse_number(latest["discounted_price"]),
            "actual_price": parse_number(latest["actual_price"]),
            "discount_percentage": parse_number(latest["discount_percentage"]),
            "rating": parse_number(latest["rating"]),
            "rating_count": parse_number(latest["rating_count"]).round().astype("Int64"),
            "about_product": latest["about_product"],
            "img_link": latest["img_link"],
            "product_link": latest["product_link"],
        }
    )
    return products.reset_index(drop=True)


def _aligned_split(texts: pd.Series, counts: pd.Series, patterns: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    """Split each text into one piece per reviewer with the first pattern that aligns; else keep it whole."""
    pieces = pd.Series([None] * len(texts), index=texts.index, dtype=object)
    aligned = pd.Series(False, index=texts.index)
    for pattern in patterns:
        todo = ~aligned
        if not todo.any():
            break
        split = split_list(texts[todo], pattern)
        fits = split.str.len() == counts[todo]
        pieces[fits[fits].index] = split[fits]
        aligned[fits[fits].index] = True
    return pieces, aligned


def explode_reviews(raw: pd.DataFrame, base_epoch: int = DEFAULT_BASE_EPOCH) -> pd.DataFrame:
    """One row per (user, product) review (a repeated pair keeps its last occurrence); `text_aligned` is False
    where the texts did not split into one piece per reviewer and each got the product's whole text."""
    reviews = reviewer_rows(raw.reset_index(drop=True), base_epoch)
    reviews = reviews.drop_duplicates(["user_id", "product_id"], keep="last")
    return reviews.sort_values(["user_id", "product_id"], kind="stable").reset_index(drop=True)


def reviewer_rows(rows: pd.DataFrame, base_epoch: int = DEFAULT_BASE_EPOCH) -> pd.DataFrame:
    """One row per entry of the reviewer lists, in file order (duplicates kept)."""
    user_lists = split_list(rows["user_id"])
    counts = user_lists.str.len()
    names, names_aligned = _aligned_split(rows["user_name"], counts, (",", TEXT_SPLIT_PATTERNS[0]))
    titles, titles_aligned = _aligned_split(rows["review_title"], counts, TEXT_SPLIT_PATTERNS)
    contents, contents_aligned = _aligned_split(rows["review_content"], counts, TEXT_SPLIT_PATTERNS)
    repeat = np.repeat(np.arange(len(rows)), counts.to_numpy())
    position = np.arange(len(repeat)) - np.repeat(np.cumsum(counts.to_numpy()) - counts.to_numpy(), counts.to_numpy())

    def per_reviewer(pieces: pd.Series, aligned: pd.Series, whole: pd.Series) -> np.ndarray:
        out = whole.to_numpy(dtype=object)[repeat].copy()
        flat = np.concatenate([p for p in pieces[aligned]]) if aligned.any() else np.array([], dtype=object)
        out[np.repeat(aligned.to_numpy(), counts.to_numpy())] = flat
        return out

    text_aligned = (titles_aligned & contents_aligned).to_numpy()[repeat]
    reviews = pd.DataFrame(
        {
            "review_id": np.concatenate(split_list(rows["review_id"]).to_numpy()),
            "user_id": np.concatenate(user_lists.to_numpy()),
            "product_id": rows["product_id"].to_numpy()[repeat],
            "user_name": per_reviewer(names, names_aligned, pd.Series("", index=rows.index)),
            "review_title": per_reviewer(titles, titles_aligned, rows["review_title"]),
            "review_content": per_reviewer(contents, contents_aligned, rows["review_content"]),
            "text_aligned": text_aligned,
            "timestamp": _review_timestamps(rows, counts, repeat, position, base_epoch),
            "source_file": rows["source_file"].to_numpy()[repeat],
            "source_line": rows["source_line"].to_numpy()[repeat],
        }
    )
    for column in ("review_id", "user_id", "product_id", "user_name", "review_title", "review_content"):
        reviews[column] = reviews[column].astype("string").str.strip()
    return reviews


def _review_timestamps(
    rows: pd.DataFrame, counts: pd.Series, repeat: np.ndarray, position: np.ndarray, base_epoch: int
) -> np.ndarray:
    """Epoch seconds per review: the file's `timestamp` where given (validated at reading), else derived from
    the review's place in the file."""
    derived = base_epoch + rows["source_line"].to_numpy(dtype=np.int64)[repeat] * 60 + position
    if "timestamp" not in rows.columns:
        return derived
    values = whole_numbers(_per_reviewer(rows["timestamp"], counts), *TIMESTAMP_RANGE)
    return np.where(values.notna(), values.fillna(0).to_numpy(np.int64), derived)


def _per_reviewer(values: pd.Series, counts: pd.Series) -> pd.Series:
    """One item per reviewer of an optional column holding one value per row or a list aligned with user_id."""
    given = split_list(values)
    per_review = given.where(given.str.len() == counts, given.str[:1] * counts)
    return pd.Series(np.concatenate(per_review.to_numpy()), dtype="string")


def build_users(reviews: pd.DataFrame, products: pd.DataFrame, raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per user: name (most recent non-empty), review count and favourite top-level category."""
    with_category = reviews.merge(products[["product_id", "top_category"]], on="product_id", how="left")
    named = with_category[with_category["user_name"].fillna("") != ""].sort_values("timestamp", kind="stable")
    names = named.drop_duplicates("user_id", keep="last").set_index("user_id")["user_name"]
    counts = with_category.groupby("user_id").size()
    favourite = (
        with_category.groupby(["user_id", "top_category"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["user_id", "n", "top_category"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("user_id")
        .set_index("user_id")["top_category"]
    )
    users = pd.DataFrame({"review_count": counts.astype("int64")})
    users["user_name"] = names.reindex(users.index).fillna("").astype("string")
    users["favourite_category"] = favourite.reindex(users.index).fillna("").astype("string")
    users = users.reset_index().rename(columns={"index": "user_id"})
    users = users.assign(email="", consent="").astype(
        {"email": "string", "consent": "string"}
    )  # the export has neither
    if raw is not None and "age" in raw.columns:
        users = users.merge(user_ages(raw), on="user_id", how="left")
    return users[
        [
            c
            for c in ("user_id", "user_name", "email", "consent", "review_count", "favourite_category", "age")
            if c in users.columns
        ]
    ]


def user_ages(raw: pd.DataFrame) -> pd.DataFrame:
    """Optional `age` column (one value, or a list aligned with user_id; validated at reading) -> one age per user
    (the last given)."""
    users = split_list(raw["user_id"])
    frame = pd.DataFrame(
        {
            "user_id": pd.Series(np.concatenate(users.to_numpy()), dtype="string").str.strip(),
            "age": whole_numbers(_per_reviewer(raw["age"], users.str.len()), *AGE_RANGE).astype("Int64"),
        }
    )
    return frame.dropna().drop_duplicates("user_id", keep="last")
