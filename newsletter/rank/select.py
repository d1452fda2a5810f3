"""Choosing each subscriber's papers per topic, vectorised over a chunk of subscribers.

Both functions apply the same rules: a paper is kept for a topic if its relevance (plus
the followed-category boost and the Rocchio shift) clears the floor and it is neither
excluded nor by a followed author; it goes to the topic where it has the most matched
evidence (relevance x the topic's idf mass; ties to the earlier topic); each topic keeps
its ``k`` best by relevance plus popularity prior. Ties go to the lower paper index.

``dense_picks`` scores every paper under every topic: the reference, also used for
feedback rows. ``sparse_picks`` is the fast path: it looks only at each topic's top ``M``
candidates (precomputed once per topic), but decides which topic a candidate belongs
to from the paper's full scores under all the row's topics, exactly as the dense path
does. A row whose top ``k`` could still miss a paper outside the candidates is flagged
and redone by ``dense_picks``.

Both return ``(papers, keys)``, each ``(B, T, k)``: paper indices best first (-1 pads)
and their keys (relevance + prior, -inf pads).
"""

from __future__ import annotations

import numpy as np

NEG_INF = np.float32(-np.inf)
# Float32 sums in a different order may differ in the last bits: treat near-ties as unsafe.
_TIE_MARGIN = np.float32(1e-5)


def _first_k(papers: np.ndarray, key: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of each row (last axis) by key desc, then paper index asc."""
    order = np.lexsort((papers, -key), axis=-1)[..., :k]
    best_p = np.take_along_axis(papers, order, axis=-1)
    best_v = np.take_along_axis(key, order, axis=-1)
    short = k - best_p.shape[-1]
    if short > 0:
        pad = [(0, 0)] * (best_p.ndim - 1) + [(0, short)]
        best_p = np.pad(best_p, pad, constant_values=-1)
        best_v = np.pad(best_v, pad, constant_values=NEG_INF)
    best_p = np.where(best_v > NEG_INF, best_p, -1)
    return best_p, best_v.astype(np.float32)


def sparse_picks(
    cand_idx: np.ndarray,
    cand_rel: np.ndarray,
    cut: np.ndarray,
    cut_plain: np.ndarray,
    scores: np.ndarray,
    slots: np.ndarray,
    evidence: np.ndarray,
    in_category: np.ndarray,
    removed: np.ndarray,
    prior: np.ndarray,
    *,
    floor: float,
    boost: np.float32,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cand_*``: ``(B, T, M)`` candidates (index -1 / relevance -inf as padding);
    ``cut``: ``(B, T)`` the best key among candidates dropped from the list
    (``cut_plain``: among those at the floor without the boost, for rows without it);
    ``scores``: ``(S, P)`` each cached topic's relevance to every paper; ``slots``:
    ``(B, T)`` the row of ``scores`` of each topic (-1 pads). Returns the picks and a
    ``(B,)`` mask of rows to redo densely."""
    n_rows, width, _ = cand_idx.shape
    if in_category.shape[1] == 0:
        shape = (n_rows, width, k)
        none = np.full(shape, -1, dtype=np.int64), np.full(shape, NEG_INF, dtype=np.float32)
        return *none, np.zeros(n_rows, dtype=bool)
    rows = np.arange(n_rows)[:, None, None]
    valid = cand_idx >= 0
    safe = np.where(valid, cand_idx, 0)
    category = in_category[rows, safe]
    gone = removed[rows, safe]
    # Every candidate's relevance under every topic of its row: (B, T', T, M).
    present = slots >= 0
    other = scores[np.maximum(slots, 0)[:, :, None, None], safe[:, None]]
    other = other + boost * ((other > 0) & category[:, None])
    kept = (other >= floor) & present[:, :, None, None] & ~gone[:, None]
    strength = np.where(kept, other * evidence[:, :, None, None], NEG_INF)
    winner = strength.argmax(axis=1)
    rel = cand_rel + boost * (category & (cand_rel > 0))
    keep = valid & (rel >= floor) & ~gone & (winner == np.arange(width)[None, :, None])
    key = np.where(keep, rel + prior[safe], NEG_INF)
    papers = np.full((n_rows, width, k), -1, dtype=np.int64)
    keys = np.full((n_rows, width, k), NEG_INF, dtype=np.float32)
    # Candidates come best first (key desc, index asc), so without the boost (which can
    # reorder them) the first k kept are the top k.
    boosted = np.asarray(in_category.any(axis=1))
    rank = np.cumsum(keep, axis=-1)
    b, t, m = np.nonzero(keep & (rank <= k) & ~boosted[:, None, None])
    papers[b, t, rank[b, t, m] - 1] = cand_idx[b, t, m]
    keys[b, t, rank[b, t, m] - 1] = key[b, t, m]
    if boosted.any():
        sub = np.flatnonzero(boosted)
        papers[sub], keys[sub] = _first_k(np.where(keep[sub], cand_idx[sub], -1), key[sub], k)
    # Exact only if no dropped candidate could have entered: k picks, the k-th above the
    # best dropped key (plus the boost it might get).
    cut = np.where(boosted[:, None], cut, cut_plain)
    margin = np.where(boosted, boost, np.float32(0))[:, None] + _TIE_MARGIN
    count = (keys > NEG_INF).sum(axis=-1)
    unsafe = np.isfinite(cut) & ((count < k) | (keys[..., k - 1] <= cut + margin))
    return papers, keys, unsafe.any(axis=1)


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
) -> tuple[np.ndarray, np.ndarray]:
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
    # Only entries at or above each row's k-th best key can be in its top k.
    if n_papers > k:
        kth = np.partition(ranked, n_papers - k, axis=-1)[..., n_papers - k]
        contenders = (ranked >= kth[..., None]) & (ranked > NEG_INF)
    else:
        contenders = ranked > NEG_INF
    b, t, p = np.nonzero(contenders)
    key = ranked[b, t, p]
    order = np.lexsort((p, -key, b * width + t))
    b, t, p, key = b[order], t[order], p[order], key[order]
    group = b * width + t
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    rank = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    top = rank < k
    papers = np.full((n_rows, width, k), -1, dtype=np.int64)
    keys = np.full((n_rows, width, k), NEG_INF, dtype=np.float32)
    papers[b[top], t[top], rank[top]] = p[top]
    keys[b[top], t[top], rank[top]] = key[top]
    return papers, keys


def to_lists(papers: np.ndarray, keys: np.ndarray) -> list[list[tuple[int, float]]]:
    """One row's picks ``(T, k)`` as ``[[(paper, key), ...] per topic]``."""
    return [
        [(p, v) for p, v in zip(row_p, row_v, strict=True) if p >= 0]
        for row_p, row_v in zip(papers.tolist(), keys.tolist(), strict=True)
    ]
