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
STEPS = 1000  # 300 stopped short of convergence: README "Quality" (cross-validated, +0.6 to +0.9 top-1)
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
    x = np.asarray(vectors, dtype=np.float32) * np.float32(SCALE)
    w, b = softmax_regression(x, np.ascontiguousarray(x.T), owners, n_owners)
    return LinearClassifier(w, b)


def softmax_regression(x: Any, xt: Any, owners: np.ndarray[Any, Any], n_owners: int) -> tuple[FloatArray, FloatArray]:
    """Weights and bias of an L2-regularised softmax regression of `owners` on the rows of `x` (dense or
    scipy.sparse, float32, already scaled; `xt` is its transpose), by STEPS full-batch gradient steps.
    Both classifiers train with it. float32 halves the time of the matrix products (the build trains each
    model six times); the probabilities differ from a float64 fit by under 1e-5."""
    y = np.eye(n_owners, dtype=np.float32)[np.asarray(owners, dtype=np.int64)]
    w = np.zeros((x.shape[1], n_owners), dtype=np.float32)
    b = np.zeros(n_owners, dtype=np.float32)
    decay, step, rate = np.float32(1.0 - RATE * L2), np.float32(RATE / x.shape[0]), np.float32(RATE)
    for _ in range(STEPS):
        z = np.asarray(x @ w) + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = p - y
        w *= decay
        w -= step * np.asarray(xt @ g)
        b -= rate * g.mean(axis=0)
    return w.astype(np.float64), b.astype(np.float64)
