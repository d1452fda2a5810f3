"""Sparse features of one edition: BM25F term weights and unit TF-IDF vectors.

Rows are papers, columns are terms (stemmed unigrams and bigrams) of the edition.
Three text fields: title, abstract, and the names of the paper's arXiv categories.
Each field's term frequency is length-normalised and weighted (title above abstract),
summed, and saturated BM25-style to ``tf / (tf + k1)`` in ``[0, 1)``. A topic's score
against a paper is the idf-weighted mean of these saturations over the topic's terms
(see ``Corpus.query_matrix``), so it lies in ``[0, 1)``: the share of the topic that
the paper matches, and how strongly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from newsletter.models import Paper
from newsletter.rank import definitions
from newsletter.rank.acronyms import Abbreviations
from newsletter.rank.taxonomy import category_name
from newsletter.rank.text import query_terms, terms, unique_terms, word_units

FIELDS = ("title", "abstract", "category")


@dataclass(frozen=True, slots=True)
class Weights:
    """BM25F parameters. ``category`` weights the category-name field."""

    title: float = 2.5
    abstract: float = 1.0
    category: float = 1.5
    b_title: float = 0.3
    b_abstract: float = 0.75
    k1: float = 1.2
    # A paper must hold words carrying this share of a topic's idf mass (each hyphenated
    # compound as one word), else its score is scaled below the floor (``Corpus.below``).
    coverage: float = 0.5
    # ... and every word of the topic found in fewer than this share of the edition's
    # papers (its distinctive words; issue 16: "human" + "feedback" is not RLHF). 1.0:
    # every word is needed; 0: off (the share-of-mass rule alone).
    generic: float = 0.5


def category_text(paper: Paper) -> str:
    """The paper's category codes as words (their taxonomy names), for matching topics."""
    return " . ".join(name for code in paper.categories if (name := category_name(code)))


def _field_texts(paper: Paper) -> tuple[str, str, str]:
    return paper.title, paper.abstract, category_text(paper)


def _count_matrix(
    docs: Iterable[list[str]], vocab: dict[str, int], n_docs: int, grow: bool
) -> sp.csr_matrix:
    rows: list[int] = []
    cols: list[int] = []
    for row, doc_terms in enumerate(docs):
        for term in doc_terms:
            col = vocab.get(term)
            if col is None:
                if not grow:
                    continue
                col = vocab[term] = len(vocab)
            rows.append(row)
            cols.append(col)
    data = np.ones(len(rows), dtype=np.float64)
    matrix = sp.coo_matrix((data, (rows, cols)), shape=(n_docs, max(len(vocab), 1)))
    return matrix.tocsr()  # duplicates are summed: counts


def _resize(matrix: sp.csr_matrix, n_cols: int) -> sp.csr_matrix:
    matrix = sp.csr_matrix(matrix)
    matrix.resize((matrix.shape[0], n_cols))
    return matrix


def _length_norm(counts: sp.csr_matrix, b: float) -> np.ndarray:
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    mean = lengths.mean() if lengths.size and lengths.mean() > 0 else 1.0
    return np.asarray(1.0 - b + b * lengths / mean)


def _l2_rows(matrix: sp.csr_matrix, norms: np.ndarray | None = None) -> sp.csr_matrix:
    if norms is None:
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(inverse) @ matrix)


class Corpus:
    """The term space of one edition, built once and shared by every subscriber."""

    def __init__(
        self, papers: Sequence[Paper], weights: Weights | None = None, *, below: float = 0.15
    ) -> None:
        self.weights = weights or Weights()
        self.below = below
        # ``Abbreviations.from_texts``, with the fast scan (``definitions``: the same answer).
        self.abbreviations = Abbreviations(
            definitions.mine(f"{p.title}. {p.abstract}" for p in papers)
        )
        self._forms: dict[str, tuple[str, ...]] = {}
        self.n_papers = len(papers)
        self.vocab: dict[str, int] = {}
        fields = [_field_texts(p) for p in papers]
        title_terms = [terms(f[0]) for f in fields]
        abstract_terms = [terms(f[1]) for f in fields]
        category_terms = [terms(f[2]) for f in fields]
        n = self.n_papers
        title = _count_matrix(title_terms, self.vocab, n, grow=True)
        abstract = _count_matrix(abstract_terms, self.vocab, n, grow=True)
        category = _count_matrix(category_terms, self.vocab, n, grow=True)
        n_terms = max(len(self.vocab), 1)
        self.title_tf = _resize(title, n_terms)
        self.abstract_tf = _resize(abstract, n_terms)
        self.category_tf = _resize(category, n_terms)
        self.text_tf = sp.csr_matrix(self.title_tf + self.abstract_tf)
        self._present_t = sp.csr_matrix((self.text_tf > 0).T, dtype=np.float64)
        anywhere = self.text_tf + self.category_tf
        self._anywhere_t = sp.csr_matrix((anywhere > 0).T, dtype=np.float32)

        w = self.weights
        combined = (
            sp.diags(w.title / _length_norm(self.title_tf, w.b_title)) @ self.title_tf
            + sp.diags(w.abstract / _length_norm(self.abstract_tf, w.b_abstract)) @ self.abstract_tf
            + w.category * self.category_tf
        )
        saturated = sp.csr_matrix(combined)
        saturated.data = saturated.data / (saturated.data + w.k1)
        self.saturated: sp.csr_matrix = saturated
        self._saturated_t = sp.csc_matrix(saturated).T  # terms x papers, CSR: fast products

        df = np.bincount(
            sp.csr_matrix(self.title_tf + self.abstract_tf + self.category_tf).indices,
            minlength=n_terms,
        )
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
        self.idf_unseen = math.log1p((n + 0.5) / 0.5)

        # Unit TF-IDF rows (title counted twice): the space for similarity and feedback.
        tfidf = sp.csr_matrix(2.0 * self.title_tf + self.abstract_tf)
        tfidf.data = 1.0 + np.log(tfidf.data)
        self.unit: sp.csr_matrix = _l2_rows(sp.csr_matrix(tfidf @ sp.diags(self.idf)))

    # Queries ------------------------------------------------------------------

    def query_matrix(self, phrases: Sequence[str]) -> sp.csr_matrix:
        """One row per phrase: each term weighted by idf, divided by the total weight.

        Terms absent from the edition still count in the total (at the highest idf), so
        a paper that matches half of a topic scores about half.
        """
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for row, phrase in enumerate(phrases):
            found: list[tuple[int, float]] = []
            total = 0.0
            for term in query_terms(phrase):
                col = self.vocab.get(term)
                weight = float(self.idf[col]) if col is not None else self.idf_unseen
                total += weight
                if col is not None:
                    found.append((col, weight))
            for col, weight in found:
                rows.append(row)
                cols.append(col)
                vals.append(weight / total)
        shape = (len(phrases), max(len(self.vocab), 1))
        return sp.csr_matrix((vals, (rows, cols)), shape=shape)

    def topic_weight(self, phrase: str) -> float:
        """The total idf weight of a phrase's terms: how much evidence a full match is."""
        return sum(
            float(self.idf[col]) if (col := self.vocab.get(term)) is not None else self.idf_unseen
            for term in query_terms(phrase)
        )

    def forms(self, phrase: str) -> tuple[str, ...]:
        """``phrase`` and its other forms (abbreviation <-> long form, ``acronyms.py``);
        remembered per phrase (each explanation asks again: 26,000 times for 30,000
        readers, stemming the phrase each time)."""
        found = self._forms.get(phrase)
        if found is None:
            found = self._forms[phrase] = (phrase, *self.abbreviations.forms(phrase))
        return found

    def coverage(self, phrases: Sequence[str]) -> np.ndarray:
        """Dense ``(len(phrases), n_papers)``: the share of each phrase's idf mass (over its
        words, ``text.word_units``) that the paper holds in any field, minus 2 for each
        distinctive word (``Weights.generic``) of a multi-word phrase that it lacks."""
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        # A distinctive word (df share < Weights.generic) the paper lacks costs 2: the
        # share then falls below any gate (a word no paper has is distinctive too).
        generic = self.weights.generic
        rare_idf = math.log1p((1 - generic) / generic) if generic > 0 else math.inf
        penalty = np.zeros(len(phrases), dtype=np.float32)
        for row, phrase in enumerate(phrases):
            units = {unit for _, unit in word_units(phrase)}
            weights = {u: self._idf(u) for u in units}
            total = sum(weights.values())
            for unit, weight in weights.items():
                col = self.vocab.get(unit)
                distinctive = len(units) > 1 and weight > rare_idf
                if distinctive:
                    penalty[row] += 2.0
                if col is not None and total > 0:
                    rows.append(row)
                    cols.append(col)
                    vals.append(weight / total)
                    if distinctive:
                        rows.append(row)
                        cols.append(col)
                        vals.append(2.0)
        shape = (len(phrases), max(len(self.vocab), 1))
        selector = sp.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float32)
        held = np.asarray((selector @ self._anywhere_t).toarray(), dtype=np.float32)
        return held - penalty[:, None]

    def _idf(self, term: str) -> float:
        col = self.vocab.get(term)
        return float(self.idf[col]) if col is not None else self.idf_unseen

    def topic_scores(self, phrases: Sequence[str]) -> np.ndarray:
        """Dense ``(len(phrases), n_papers)`` float32 relevance in ``[0, 1)``.

        The best over the phrase's forms (``forms``); a paper that lacks words carrying
        ``Weights.coverage`` of a form's idf mass scores ``below`` times its BM25F score
        for that form (under the floor, order kept).
        """
        return self.lexical(phrases)[0]

    def lexical(self, phrases: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(gated, raw, covered)``, each ``(len(phrases), n_papers)``: the gated score of
        ``topic_scores``, the BM25F score before the coverage gate (float32, best form), and
        whether any form passes the gate (bool)."""
        shape = (len(phrases), self.n_papers)
        if not phrases or self.n_papers == 0:
            return np.zeros(shape, np.float32), np.zeros(shape, np.float32), np.zeros(shape, bool)
        flat: list[str] = []
        owner: list[int] = []
        for i, phrase in enumerate(phrases):
            for form in self.forms(phrase):
                flat.append(form)
                owner.append(i)
        product = np.asarray((self.query_matrix(flat) @ self._saturated_t).toarray(), np.float32)
        covered = self.coverage(flat) >= self.weights.coverage - 1e-6
        gated = np.where(covered, product, product * np.float32(self.below))
        rows = np.asarray(owner)
        out = np.zeros(shape, dtype=np.float32)
        raw = np.zeros(shape, dtype=np.float32)
        any_covered = np.zeros(shape, dtype=bool)
        np.maximum.at(out, rows, gated)
        np.maximum.at(raw, rows, product)
        np.logical_or.at(any_covered, rows, covered & (product > 0))
        return out, raw, any_covered

    def has_phrase(self, phrases: Sequence[str]) -> sp.csr_matrix:
        """Boolean ``(len(phrases), n_papers)``: the phrase occurs in title or abstract.

        A one-word phrase needs that word; a longer phrase needs every adjacent pair
        (its bigrams) to occur.
        """
        rows: list[int] = []
        cols: list[int] = []
        needed: list[int] = []
        for row, phrase in enumerate(phrases):
            phrase_terms = unique_terms(phrase)
            bigrams = [t for t in phrase_terms if " " in t] or phrase_terms
            if any(t not in self.vocab for t in bigrams):
                bigrams = []
            needed.append(len(bigrams))
            for term in bigrams:
                rows.append(row)
                cols.append(self.vocab[term])
        shape = (len(phrases), max(len(self.vocab), 1))
        selector = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        hits = np.asarray((selector @ self._present_t).toarray())
        need = np.asarray(needed, dtype=np.float64)[:, None]
        return sp.csr_matrix((hits >= need) & (need > 0))

    def vectorise(self, papers: Sequence[Paper]) -> sp.csr_matrix:
        """Unit TF-IDF rows of papers outside the edition (feedback), in this term space.

        Terms the edition lacks cannot match any paper of it, but still count in the
        length of the vector (at the highest idf), so the cosine stays honest.
        """
        n_terms = max(len(self.vocab), 1)
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        norms = np.zeros(len(papers))
        for row, paper in enumerate(papers):
            counts: dict[str, float] = {}
            for term in terms(paper.title):
                counts[term] = counts.get(term, 0.0) + 2.0
            for term in terms(paper.abstract):
                counts[term] = counts.get(term, 0.0) + 1.0
            square = 0.0
            for term, count in counts.items():
                col = self.vocab.get(term)
                idf = float(self.idf[col]) if col is not None else self.idf_unseen
                value = (1.0 + math.log(count)) * idf
                square += value * value
                if col is not None:
                    rows.append(row)
                    cols.append(col)
                    vals.append(value)
            norms[row] = math.sqrt(square)
        matrix = sp.csr_matrix((vals, (rows, cols)), shape=(len(papers), n_terms))
        return _l2_rows(matrix, norms)
