"""The three retrieval signals over an index: per candidate (runbook or look-alike), the strongest
signature weight, the best BM25 score and the best cosine similarity, with the passages behind them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.knowledge.signatures import SignatureHit, SignatureSet, flatten
from bot.knowledge.tokens import tokenize

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
DENSE_TOP_K = 512


@dataclass(frozen=True)
class Owner:
    id: str
    kind: str  # "runbook" | "lookalike"
    title: str
    start: int  # first passage row
    end: int  # one past the last passage row
    path: str = ""
    hint: str = ""
    first_steps: tuple[str, ...] = ()


@dataclass
class Signals:
    """One query's signals, one entry per owner (in owner order)."""

    sig: FloatArray
    lex: FloatArray
    dense: FloatArray
    sig_hits: dict[str, SignatureHit]
    lex_best: dict[int, int]  # owner index -> passage row
    dense_best: dict[int, int]
    tokens: list[str]


class SearchIndex:
    """Signatures, a BM25 retriever and a faiss inner-product index over the same passage rows."""

    def __init__(self, owners: Sequence[Owner], signatures: SignatureSet, bm25: Any, dense: Any) -> None:
        self.owners = list(owners)
        self.owner_pos = {o.id: i for i, o in enumerate(self.owners)}
        self.signatures = signatures
        self.bm25 = bm25
        self.dense = dense
        self.size = self.owners[-1].end if self.owners else 0
        self.starts = np.array([o.start for o in self.owners], dtype=np.int64)
        self.owner_of_row = np.repeat(np.arange(len(self.owners)), [o.end - o.start for o in self.owners])

    def signals(
        self,
        raw_texts: Sequence[str],
        search_texts: Sequence[str],
        vectors: np.ndarray[Any, np.dtype[np.float32]],
        hidden_rows: Sequence[set[int]] | None = None,
    ) -> list[Signals]:
        """Signals for a batch of queries; `hidden_rows` hides passages (to score a passage as a query)."""
        k = min(self.size, DENSE_TOP_K)
        dense_scores, dense_rows = self.dense.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        out = []
        for i, (raw, text) in enumerate(zip(raw_texts, search_texts, strict=True)):
            hidden = hidden_rows[i] if hidden_rows else set()
            out.append(self._one(raw, text, dense_scores[i], dense_rows[i], hidden))
        return out

    def _one(self, raw: str, text: str, dense_scores: Any, dense_rows: Any, hidden: set[int]) -> Signals:
        n = len(self.owners)
        hits = self.signatures.best(flatten(raw), flat=True)
        sig = np.zeros(n)
        for owner_id, hit in hits.items():
            sig[self.owner_pos[owner_id]] = hit.weight

        tokens = tokenize(text)
        lex = np.zeros(n)
        lex_best: dict[int, int] = {}
        if tokens:
            scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float64)
            if hidden:
                scores[list(hidden)] = 0.0
            lex = np.maximum.reduceat(scores, self.starts) if n else lex
            for o in (int(i) for i in np.nonzero(lex > 0)[0]):
                owner = self.owners[o]
                lex_best[o] = owner.start + int(np.argmax(scores[owner.start : owner.end]))

        # owners absent from the top k get the k-th score: an upper bound on their true best
        floor = float(dense_scores[-1]) if len(dense_scores) else 0.0
        dense = np.full(n, floor)
        seen = np.zeros(n, dtype=bool)
        dense_best: dict[int, int] = {}
        for score, row in zip(dense_scores, dense_rows, strict=True):
            if row < 0 or int(row) in hidden:
                continue
            o = int(self.owner_of_row[row])
            if not seen[o]:
                seen[o] = True
                dense[o] = float(score)
                dense_best[o] = int(row)
        return Signals(sig, lex, dense, hits, lex_best, dense_best, tokens)
