"""A fourth signal: a linear classifier over the sentence embeddings, trained on every sample, symptom,
alias, title, signature and real report of each runbook and look-alike.

Nearest-passage similarity (the dense signal) asks "which single passage is this paste closest to";
the classifier asks "which runbook's region of the embedding space is it in", which holds up better
for prose that resembles no one passage. Pure numpy: softmax regression by gradient descent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
TRAINING_KINDS = ("sample", "symptom", "report", "alias", "title", "signature")
SCALE = 10.0  # unit vectors: cosine-sized logits are too flat to learn from in a few hundred steps
STEPS = 300
RATE = 0.5
L2 = 1e-3


@dataclass(frozen=True)
class ClassifierData:
    """What the classifier is trained on: one embedded passage per row, its owner, and its report line
    (0 unless it is a real report), so cross-validation can retrain it without a fold's reports."""

    vectors: np.ndarray[Any, Any]
    owners: np.ndarray[Any, Any]
    reports: np.ndarray[Any, Any]
    rows: np.ndarray[Any, Any]  # the passage row of each training vector
    n_owners: int

    def without_reports(self, lines: set[int]) -> LinearClassifier:
        keep = ~np.isin(self.reports, list(lines)) if lines else np.ones(len(self.reports), dtype=bool)
        return train_classifier(self.vectors[keep], self.owners[keep], self.n_owners)


@dataclass(frozen=True)
class LinearClassifier:
    weights: FloatArray  # dimension x owners
    bias: FloatArray  # owners

    def proba(self, vectors: np.ndarray[Any, Any]) -> FloatArray:
        """Per row of `vectors`, a probability per owner."""
        z = (np.asarray(vectors, dtype=np.float64) * SCALE) @ self.weights + self.bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)


def train_classifier(vectors: np.ndarray[Any, Any], owners: np.ndarray[Any, Any], n_owners: int) -> LinearClassifier:
    """Softmax regression of owner on embedding (full-batch gradient descent; a second on 2,000 rows)."""
    x = np.asarray(vectors, dtype=np.float64) * SCALE
    y = np.eye(n_owners)[np.asarray(owners, dtype=np.int64)]
    w = np.zeros((x.shape[1], n_owners))
    b = np.zeros(n_owners)
    for _ in range(STEPS):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = p - y
        w -= RATE * (x.T @ g / len(x) + L2 * w)
        b -= RATE * g.mean(axis=0)
    return LinearClassifier(w, b)
