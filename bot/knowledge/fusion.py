"""Fuses the three signals (signatures, lexical, dense) into one calibrated 0..1 score per candidate.

Pure numpy. A logistic model over a handful of per-candidate features is fitted at index build on the
runbooks' own samples and symptoms (with each query's own passage hidden), so scores read as the
probability that the candidate is the right runbook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]

FEATURES = ("sig", "sig_margin", "dense", "dense_margin", "lex_rel", "lex_log")
SIGNALS = {
    "signatures": ("sig", "sig_margin"),
    "lexical": ("lex_rel", "lex_log"),
    "dense": ("dense", "dense_margin"),
    "fused": FEATURES,
    # the shortcut: when signatures and words alone are already sure, the embedding is skipped
    "without_dense": ("sig", "sig_margin", "lex_rel", "lex_log"),
}


def _margins(values: Array) -> Array:
    """Each candidate's value minus the best value among the other candidates."""
    if values.size < 2:
        return values.copy()
    order = np.argsort(values)[::-1]
    best, second = values[order[0]], values[order[1]]
    others_best = np.full_like(values, best)
    others_best[order[0]] = second
    return values - others_best


def features(sig: Array, lex: Array, dense: Array) -> Array:
    """Per-candidate feature matrix (candidates x FEATURES) from each signal's per-candidate best."""
    lex_top = float(lex.max()) if lex.size else 0.0
    return np.column_stack(
        [
            sig,
            _margins(sig),
            dense,
            _margins(dense),
            lex / lex_top if lex_top > 0 else np.zeros_like(lex),
            np.log1p(np.maximum(lex, 0.0)),
        ]
    )


@dataclass(frozen=True)
class Calibration:
    """Logistic weights over a subset of FEATURES, plus the bias."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def score(self, matrix: Array) -> Array:
        columns = [FEATURES.index(n) for n in self.names]
        z = matrix[:, columns] @ np.asarray(self.weights) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        return cls(tuple(data["names"]), tuple(float(w) for w in data["weights"]), float(data["bias"]))


def fit_logistic(x: Array, y: Array, names: tuple[str, ...], *, l2: float = 1e-2, steps: int = 50) -> Calibration:
    """L2-regularised logistic regression by Newton's method: exact and fast for a few features."""
    columns = [FEATURES.index(n) for n in names]
    design = np.column_stack([x[:, columns], np.ones(len(x))])
    w = np.zeros(design.shape[1])
    reg = np.eye(design.shape[1]) * l2
    reg[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        gradient = design.T @ (p - y) + reg @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + reg + np.eye(len(w)) * 1e-9
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Calibration(names, tuple(float(v) for v in w[:-1]), float(w[-1]))
