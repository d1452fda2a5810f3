"""Choosing each subscriber's papers per topic, vectorised over a chunk of subscribers.

Both functions apply the same rules: a paper is kept for a topic if its relevance (plus
the followed-category boost and the Rocchio shift) clears the floor and it is neither
excluded nor by a followed author; it goes to the topic where it has the most matched
evidence (relevance x the topic's idf mass); each topic keeps its ``k`` best by relevance
plus popularity prior. Ties go to the lower paper index.

``sparse_picks`` works on each topic's top ``M`` candidates (precomputed once per topic)
and is the fast path; a row whose result could depend on a dropped candidate is flagged
and redone by ``dense_picks``, which scores every paper (and also serves feedback rows).
"""

from __future__ import annotations

import itertools

import numpy as np

Picks = list[list[tuple[int, float]]]
NEG_INF = np.float32(-np.inf)


def _rows_to_picks(
    n_rows: int, width: int, b: np.ndarray, t: np.ndarray, p: np.ndarray, v: np.ndarray
) -> list[Picks]:
    """Group the chosen entries (already sorted by row, then best first) per row and topic."""
    out: list[Picks] = [[] for _ in range(n_rows)]
    empty: Picks = [[] for _ in range(width)]
    row = b * width + t
    if not row.size:
        return [empty for _ in range(n_rows)]
    bounds = np.flatnonzero(np.r_[True, row[1:] != row[:-1], True]).tolist()
    rows = row.tolist()
    pairs = list(zip(p.tolist(), v.tolist(), strict=True))
    for start, end in itertools.pairwise(bounds):
        bb, tt = divmod(rows[start], width)
        if not out[bb]:
            out[bb] = [[] for _ in range(width)]
        out[bb][tt] = pairs[start:end]
    return [x or empty for x in out]


def _top_k(row: np.ndarray, key: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best entries of each ``row`` group (by key desc, then p asc)."""
    order = np.lexsort((p, -key, row))
    sorted_rows = row[order]
    starts = np.r_[0, np.flatnonzero(sorted_rows[1:] != sorted_rows[:-1]) + 1]
    lengths = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, lengths)
    return np.asarray(order[rank < k])


def sparse_picks(
    cand_idx: np.ndarray,
    cand_rel: np.ndarray,
    cut: np.ndarray,
    evidence: np.ndarray,
    in_category: np.ndarray,
    removed: np.ndarray,
    prior: np.ndarray,
    *,
    floor: float,
    boost: np.float32,
    k: int,
) -> tuple[list[Picks], np.ndarray]:
    """``cand_*``: ``(B, T, M)`` candidates (index -1 / relevance -inf as padding);
    ``cut``: ``(B, T)`` the best key among candidates dropped from the list.
    Returns the picks and a ``(B,)`` mask of rows that need ``dense_picks``."""
    n_rows, width, _ = cand_idx.shape
    n_papers = in_category.shape[1]
    if n_papers == 0:
        return [[[] for _ in range(width)] for _ in range(n_rows)], np.zeros(n_rows, dtype=bool)
    rows = np.arange(n_rows)[:, None, None]
    safe = np.maximum(cand_idx, 0)
    rel = cand_rel + boost * (in_category[rows, safe] & (cand_rel > 0))
    keep = (rel >= floor) & (cand_idx >= 0) & ~removed[rows, safe]
    b, t, m = np.nonzero(keep)
    p = cand_idx[b, t, m]
    r = rel[b, t, m]
    # Once per email: for each (subscriber, paper) the topic with the most evidence.
    pair = b * n_papers + p
    order = np.lexsort((t, -(r * evidence[b, t]), pair))
    pair_sorted = pair[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_sorted[1:] != pair_sorted[:-1]
    win = order[first]
    b, t, p, r = b[win], t[win], p[win], r[win]
    key = (r + prior[p]).astype(np.float32)
    chosen = _top_k(b * width + t, key, p, k)
    b, t, p, key = b[chosen], t[chosen], p[chosen], key[chosen]
    # Exact only if no dropped candidate could have entered: k picks, the k-th above the cut.
    counts = np.bincount(b * width + t, minlength=n_rows * width).reshape(n_rows, width)
    kth = np.full((n_rows, width), np.inf, dtype=np.float32)
    np.minimum.at(kth, (b, t), key)
    unsafe = np.isfinite(cut) & ((counts < k) | (kth <= cut + boost))
    return _rows_to_picks(n_rows, width, b, t, p, key), unsafe.any(axis=1)


def dense_picks(
    relevance: np.ndarray,
    present: np.ndarray,
    evidence: np.ndarray,
    in_category: np.ndarray,
    removed: np.ndarray,
    adjust: np.ndarray | None,
    prior: np.ndarray,
    *,
    floor: float,
    boost: np.float32,
    k: int,
) -> list[Picks]:
    """``relevance``: ``(B, T, P)`` topic scores (modified in place); ``adjust``: ``(B, P)``."""
    n_rows, width, n_papers = relevance.shape
    matched = relevance > 0
    relevance += boost * (matched & in_category[:, None, :])
    if adjust is not None:
        relevance += adjust[:, None, :] * matched
    keep = (relevance >= floor) & present[:, :, None] & ~removed[:, None, :]
    ranked = np.where(keep, relevance + prior, NEG_INF)
    relevance *= evidence[:, :, None]
    relevance[~keep] = -np.inf
    best = relevance.argmax(axis=1) if n_papers else np.zeros((n_rows, 0), dtype=np.int64)
    ranked[np.arange(width)[None, :, None] != best[:, None, :]] = -np.inf
    b, t, p = np.nonzero(ranked > NEG_INF)
    key = ranked[b, t, p]
    chosen = _top_k(b * width + t, key, p, k)
    return _rows_to_picks(n_rows, width, b[chosen], t[chosen], p[chosen], key[chosen])
