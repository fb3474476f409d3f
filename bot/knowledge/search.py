"""The three retrieval signals over an index: per candidate (runbook or look-alike), the strongest
signature weight, the best BM25 score and the best cosine similarity, with the passages behind them.

The BM25 and vector indexes are handed in, built and loaded by `bot.index`; this module only queries them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.knowledge.classifier import LinearClassifier
from bot.knowledge.fusion import features
from bot.knowledge.passages import REPORTED_NOT_CNI
from bot.knowledge.signatures import SignatureHit, SignatureSet, flatten
from bot.knowledge.tokens import tokenize
from bot.knowledge.word_classifier import WordClassifier

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
DENSE_TOP_K = 128  # rows asked of faiss; owners beyond them get the 128th score (an upper bound)


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
    lex_scores: FloatArray | None  # BM25 score per passage row (None: the query had no tokens)
    dense_best: np.ndarray[Any, np.dtype[np.int64]]  # per owner: its best passage row in the top k, or -1
    tokens: list[str]
    owners: Sequence[Owner]
    clf: FloatArray | None = None  # the classifier's probability per owner, when the paste was embedded
    wclf: FloatArray | None = None  # the word classifier's probability per owner
    outside: FloatArray | None = None  # 1 for the "not a pod-network problem" owner (the index's, shared)

    def features(self) -> FloatArray:
        """The fusion's feature matrix for this query (candidates x FEATURES)."""
        return features(self.sig, self.lex, self.dense, self.clf, self.wclf, self.outside)

    def lex_row(self, owner_index: int) -> int | None:
        """The owner's best BM25 passage row, computed only for the few owners an answer explains."""
        if self.lex_scores is None or self.lex[owner_index] <= 0:
            return None
        owner = self.owners[owner_index]
        return owner.start + int(np.argmax(self.lex_scores[owner.start : owner.end]))

    def dense_row(self, owner_index: int) -> int | None:
        row = int(self.dense_best[owner_index])
        return row if row >= 0 else None


class SearchIndex:
    """Signatures, a BM25 retriever and a faiss inner-product index over the same passage rows."""

    def __init__(
        self,
        owners: Sequence[Owner],
        signatures: SignatureSet,
        bm25: Any,
        dense: Any,
        *,
        top_k: int = DENSE_TOP_K,
        classifier: LinearClassifier | None = None,
        word_classifier: WordClassifier | None = None,
    ) -> None:
        self.owners = list(owners)
        self.owner_pos = {o.id: i for i, o in enumerate(self.owners)}
        self.signatures = signatures
        self.bm25 = bm25
        self.dense = dense
        self.size = self.owners[-1].end if self.owners else 0
        self.starts = np.array([o.start for o in self.owners], dtype=np.int64)
        self.top_k = top_k
        self.classifier = classifier
        self.word_classifier = word_classifier
        self.outside = np.array([o.id == REPORTED_NOT_CNI for o in self.owners], dtype=np.float64)
        self.owner_of_row = np.repeat(np.arange(len(self.owners)), [o.end - o.start for o in self.owners])

    def signals(
        self,
        raw_texts: Sequence[str],
        search_texts: Sequence[str],
        vectors: np.ndarray[Any, np.dtype[np.float32]] | None,
        hidden_rows: Sequence[set[int]] | None = None,
    ) -> list[Signals]:
        """Signals for a batch of queries; `hidden_rows` hides passages (to score a passage as a query).
        Without `vectors` the dense signal reads as zero everywhere until `add_dense` fills it in."""
        out = []
        for i, (raw, text) in enumerate(zip(raw_texts, search_texts, strict=True)):
            out.append(self._sparse(raw, text, hidden_rows[i] if hidden_rows else set()))
        if self.word_classifier is not None and out:
            for s, p in zip(out, self.word_classifier.proba(list(search_texts)), strict=True):
                s.wclf = p
        if vectors is not None:
            self.add_dense(out, vectors, hidden_rows)
        return out

    def add_dense(
        self,
        signals: Sequence[Signals],
        vectors: np.ndarray[Any, np.dtype[np.float32]],
        hidden_rows: Sequence[set[int]] | None = None,
    ) -> None:
        """Fill in the dense signal (and the classifier's) of signals computed without vectors."""
        k = min(self.size, self.top_k)
        scores, rows = self.dense.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        proba = self.classifier.proba(vectors) if self.classifier is not None else None
        for i, s in enumerate(signals):
            hidden = hidden_rows[i] if hidden_rows else set()
            s.dense, s.dense_best = self._dense(scores[i], rows[i], hidden)
            if proba is not None:
                s.clf = proba[i]

    def _sparse(self, raw: str, text: str, hidden: set[int]) -> Signals:
        n = len(self.owners)
        hits = self.signatures.best(flatten(raw), flat=True)
        sig = np.zeros(n)
        for owner_id, hit in hits.items():
            sig[self.owner_pos[owner_id]] = hit.weight

        tokens = tokenize(text)
        lex = np.zeros(n)
        scores: FloatArray | None = None
        if tokens:
            scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float64)
            if hidden:
                scores[list(hidden)] = 0.0
            lex = np.maximum.reduceat(scores, self.starts) if n else lex
        no_dense = np.full(n, -1, dtype=np.int64)
        return Signals(sig, lex, np.zeros(n), hits, scores, no_dense, tokens, self.owners, outside=self.outside)

    def _dense(
        self, dense_scores: Any, dense_rows: Any, hidden: set[int]
    ) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.int64]]]:
        # Results arrive best first, so an owner's first row is its best. Owners absent from the top k
        # get the k-th score: an upper bound on their true best.
        n = len(self.owners)
        keep = dense_rows >= 0
        if hidden:
            keep &= ~np.isin(dense_rows, list(hidden))
        rows, values = dense_rows[keep], dense_scores[keep]
        floor = float(values[-1]) if len(values) else 0.0
        dense = np.full(n, floor)
        dense_best = np.full(n, -1, dtype=np.int64)
        owner_ids, first = np.unique(self.owner_of_row[rows], return_index=True)
        dense[owner_ids] = values[first]
        dense_best[owner_ids] = rows[first]
        return dense, dense_best
