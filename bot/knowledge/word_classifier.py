"""A fifth signal: a linear classifier over the words of a paste (TF-IDF of word unigrams and bigrams),
trained on the same samples, symptoms, aliases, titles, signatures and real reports as the embedding
classifier.

The embedding compresses a report into 384 numbers learnt on general text; the words people use for one
fault ("ping works but curl hangs", "cni0 already has an IP address different from") are often what
tells two neighbouring runbooks apart. Softmax regression by gradient descent on a sparse matrix
(scipy.sparse, which bm25s already brings): a second to train on 2,000 rows."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy import sparse

from bot.knowledge.classifier import softmax_regression
from bot.knowledge.tokens import tokenize

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
MIN_DF = 2  # a term seen in one training text only teaches the model that text
SCALE = 10.0  # unit-length rows: as for the embedding classifier, logits need room to move


def terms(text: str) -> list[str]:
    """Tokens (as BM25 sees them) and adjacent-token bigrams."""
    tokens = tokenize(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


@dataclass(frozen=True)
class Vocabulary:
    terms: tuple[str, ...]
    idf: FloatArray

    @cached_property
    def column(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.terms)}

    @classmethod
    def fit(cls, texts: Iterable[str]) -> Vocabulary:
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            df.update(set(terms(text)))
            n += 1
        kept = sorted(t for t, c in df.items() if c >= MIN_DF)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in kept], dtype=np.float64)
        return cls(tuple(kept), idf)

    def matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Rows of sublinear TF-IDF, each of unit length (an empty row stays zero)."""
        column = self.column
        data: list[float] = []
        indices: list[int] = []
        indptr = [0]
        for text in texts:
            counts = Counter(c for c in (column.get(t) for t in terms(text)) if c is not None)
            if counts:
                cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
                values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[cols]
                values /= np.linalg.norm(values)
                indices.extend(cols.tolist())
                data.extend(values.tolist())
            indptr.append(len(indices))
        shape = (len(texts), len(self.terms))
        return sparse.csr_matrix((np.array(data), np.array(indices, dtype=np.int64), np.array(indptr)), shape=shape)


@dataclass(frozen=True)
class WordClassifier:
    vocabulary: Vocabulary
    weights: FloatArray  # terms x owners
    bias: FloatArray

    def proba_matrix(self, x: sparse.csr_matrix) -> FloatArray:
        z = np.asarray((x * SCALE) @ self.weights) + self.bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)

    def proba(self, texts: Sequence[str]) -> FloatArray:
        return self.proba_matrix(self.vocabulary.matrix(texts))


def train_word_classifier(
    x: sparse.csr_matrix, owners: np.ndarray[Any, Any], n_owners: int, vocabulary: Vocabulary
) -> WordClassifier:
    xs = (x * SCALE).tocsr().astype(np.float32)
    w, b = softmax_regression(xs, xs.T.tocsr(), owners, n_owners)
    return WordClassifier(vocabulary, w, b)


@dataclass(frozen=True)
class WordData:
    """What the word classifier is trained on (as ClassifierData is for the embedding classifier)."""

    x: sparse.csr_matrix
    owners: np.ndarray[Any, Any]
    reports: np.ndarray[Any, Any]
    rows: np.ndarray[Any, Any]
    n_owners: int
    vocabulary: Vocabulary

    def train(self, keep: np.ndarray[Any, Any] | None = None) -> WordClassifier:
        if keep is None:
            return train_word_classifier(self.x, self.owners, self.n_owners, self.vocabulary)
        return train_word_classifier(self.x[keep], self.owners[keep], self.n_owners, self.vocabulary)

    def without_reports(self, lines: set[int]) -> WordClassifier:
        keep = ~np.isin(self.reports, list(lines)) if lines else np.ones(len(self.reports), dtype=bool)
        return self.train(keep)
