"""One interaction encoding: the latest opinion per (user, item) pair as codes, and the matrices models fit on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys_assets.ml.sequence import recency_matrix

NO_CATEGORY = ""


@dataclass(frozen=True)
class Opinions:
    """Latest EVENT_VALUE (and its TIMESTAMP) of each (user, item) pair, as codes sorted by user then item; `row` is
    the position of that interaction in the arrays `latest_opinions` was given."""

    user: np.ndarray
    item: np.ndarray
    value: np.ndarray
    positive: np.ndarray
    timestamp: np.ndarray
    row: np.ndarray


def latest_opinions(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    timestamps: np.ndarray,
    values: np.ndarray,
    min_positive_value: float,
) -> Opinions:
    """Keep each pair's newest interaction (ties: the later row) and flag the positive ones."""
    order = np.lexsort((np.arange(len(timestamps)), timestamps, item_codes, user_codes))
    user, item = user_codes[order], item_codes[order]
    is_latest = np.ones(len(order), dtype=bool)
    is_latest[:-1] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    value, row = values[order][is_latest], order[is_latest]
    return Opinions(user[is_latest], item[is_latest], value, value > min_positive_value, timestamps[row], row)


def encode_opinions(
    interactions: pd.DataFrame, items: pd.DataFrame, min_positive_value: float
) -> tuple[np.ndarray, np.ndarray, Opinions]:
    """Sorted user ids, sorted item ids (catalog + reviewed items) and the `latest_opinions` as their codes."""
    user_ids, user_codes = np.unique(interactions["USER_ID"].to_numpy(dtype=str), return_inverse=True)
    reviewed = interactions["ITEM_ID"].to_numpy(dtype=str)
    item_ids = np.unique(np.concatenate([items["ITEM_ID"].to_numpy(dtype=str), reviewed]))
    opinions = latest_opinions(
        user_codes,
        np.searchsorted(item_ids, reviewed),
        interactions["TIMESTAMP"].to_numpy(dtype=np.int64),
        interactions["EVENT_VALUE"].to_numpy(dtype=np.float32),
        min_positive_value,
    )
    return user_ids, item_ids, opinions


@dataclass(frozen=True)
class TrainingData:
    """Positive (user, item) values (latest opinion per pair), their TIMESTAMPs and the items' metadata.

    `history_only` rows (test users in an evaluation) are histories no model learns from (see `learning_part`)."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    matrix: sp.csr_matrix
    item_text: np.ndarray
    seen: sp.csr_matrix = field(repr=False)
    item_leaf_category: np.ndarray = field(repr=False)
    item_category: np.ndarray = field(repr=False)
    timestamp: np.ndarray = field(repr=False)
    history_only: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    @cached_property
    def learning_part(self) -> TrainingData:
        """The same users and items without the `history_only` rows' likes: what models learn from."""
        if not len(self.history_only):
            return self
        keep = ~np.isin(self.entry_user, self.history_only)
        matrix = _csr_by_user(
            self.entry_user[keep], self.matrix.indices[keep], self.matrix.data[keep], self.matrix.shape
        )
        return replace(self, matrix=matrix, timestamp=self.timestamp[keep], history_only=np.zeros(0, dtype=np.int64))

    @property
    def popularity(self) -> np.ndarray:
        """Users with a positive opinion of each item."""
        return np.bincount(self.matrix.indices, minlength=len(self.item_ids))

    @property
    def entry_user(self) -> np.ndarray:
        """The row (user code) of each stored cell of `matrix`."""
        return np.repeat(np.arange(self.matrix.shape[0]), np.diff(self.matrix.indptr))

    def recency(self, half_life: float | None) -> sp.csr_matrix:
        """`matrix`'s pattern with each user's liked items weighted by their recency (`sequence.recency_matrix`)."""
        return recency_matrix(self.entry_user, self.matrix.indices, self.timestamp, self.matrix.shape, half_life)


def training_data(
    interactions: pd.DataFrame, items: pd.DataFrame | None, min_positive_value: float = 0.0
) -> TrainingData:
    """Matrices of the interactions; the item universe is the items file plus every reviewed item."""
    items = items if items is not None else pd.DataFrame({"ITEM_ID": pd.Series(dtype="str")})
    user_ids, item_ids, opinions = encode_opinions(interactions, items, min_positive_value)
    shape = (len(user_ids), len(item_ids))
    liked = opinions.positive
    matrix = _csr_by_user(opinions.user[liked], opinions.item[liked], opinions.value[liked].astype(np.float32), shape)
    seen = sp.csr_matrix((np.ones(len(opinions.user), dtype=bool), (opinions.user, opinions.item)), shape=shape)
    return TrainingData(
        user_ids,
        item_ids,
        matrix,
        item_texts(item_ids, items),
        seen,
        leaf_categories(item_ids, items),
        categories_of(item_ids, items),
        opinions.timestamp[liked],
    )


def _csr_by_user(user: np.ndarray, item: np.ndarray, value: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR of entries already sorted by user then item, stored in that order (arrays aligned with them stay aligned)."""
    indptr = np.concatenate([[0], np.cumsum(np.bincount(user, minlength=shape[0]))])
    return sp.csr_matrix((value, item, indptr), shape=shape)


def item_texts(item_ids: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """Every metadata column but ITEM_ID joined into one text per item ("" when unknown)."""
    columns = [c for c in items.columns if c != "ITEM_ID"]
    by_item = items.drop_duplicates("ITEM_ID", keep="last").set_index("ITEM_ID")[columns].astype("str").fillna("")
    if columns:
        text = by_item[columns[0]].str.cat([by_item[column] for column in columns[1:]], sep=" ")
    else:
        text = pd.Series("", index=by_item.index)
    return text.reindex(pd.Index(item_ids)).fillna("").to_numpy(dtype=str)


def leaf_categories(item_ids: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """Last level of each item's CATEGORY_PATH (else CATEGORY): "A|B|Kettles" -> "Kettles"; "" when unknown."""
    column = next((c for c in ("CATEGORY_PATH", "CATEGORY") if c in items.columns), None)
    if column is None:
        return np.full(len(item_ids), "", dtype=str)
    by_item = items.drop_duplicates("ITEM_ID", keep="last").set_index("ITEM_ID")[column].astype("str")
    return by_item.str.split("|").str[-1].reindex(pd.Index(item_ids)).fillna("").to_numpy(dtype=str)


def categories_of(item_ids: np.ndarray, items: pd.DataFrame) -> np.ndarray:
    """CATEGORY per item id, NO_CATEGORY where the catalog does not know it."""
    if "CATEGORY" not in items.columns:
        return np.full(len(item_ids), NO_CATEGORY, dtype=str)
    by_item = items.drop_duplicates("ITEM_ID").set_index("ITEM_ID")["CATEGORY"]
    return by_item.reindex(pd.Index(item_ids)).fillna(NO_CATEGORY).to_numpy(dtype=str)


def binarized(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """1 where a value is stored."""
    binary = matrix.copy()
    binary.data = np.ones_like(binary.data)
    return binary


def pair_matrix(user: np.ndarray, column: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Boolean CSR marking the given (user, column) pairs."""
    return sp.csr_matrix((np.ones(len(user), dtype=bool), (user, column)), shape=shape)


def rows_of(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in `rows`, column) of every stored cell of the selected CSR rows."""
    counts = np.diff(matrix.indptr)[rows]
    starts = np.repeat(matrix.indptr[rows] - np.cumsum(counts) + counts, counts)
    return np.repeat(np.arange(len(rows)), counts), matrix.indices[starts + np.arange(counts.sum())]


def concatenate(arrays: list[np.ndarray]) -> np.ndarray:
    """np.concatenate that also accepts an empty list (giving an empty integer array)."""
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int64)
