"""Warm matching latency per pasted error: on the shipped index, and on an index of 50,000 passages.

The large index keeps the shipped runbooks and adds synthetic owners whose passages have real-vocabulary
tokens and random unit vectors: it measures search cost at that size, not answer quality. Queries are the
eval set's texts, each matched on its own (no batching), after one warm-up pass; and, on the shipped
index, the development set's real reports (longer: a report of up to 100 lines is read whole)."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save, summary, timed_ms
from bot.config import KnowledgeSettings
from bot.index.dense import make_dense_index, prepare_for_queries
from bot.index.load import open_matcher
from bot.knowledge.batch import read_batch
from bot.knowledge.matcher import Matcher
from bot.knowledge.search import Owner, SearchIndex
from bot.knowledge.tokens import tokenize

ROOT = Path(__file__).resolve().parent.parent
TARGET_PASSAGES = 50_000


def queries(path: Path = ROOT / "tests" / "data" / "eval.jsonl") -> list[str]:
    return [c.text for c in read_batch(str(path), labelled=True)]


def per_query_ms(matcher: Matcher, texts: list[str], rounds: int = 3) -> list[float]:
    for text in texts:  # warm-up: first calls allocate onnxruntime buffers
        matcher.match(text)
    samples: list[float] = []
    for _ in range(rounds):
        for text in texts:
            samples.extend(timed_ms(lambda t=text: matcher.match(t), 1))
    return samples


def enlarged(matcher: Matcher, total: int) -> Matcher:
    """The same matcher over `total` passages: the real ones plus synthetic owners of 50 passages each."""
    import bm25s

    base = matcher.index
    rng = random.Random(42)
    vocab = sorted({t for o in base.owners for t in tokenize(o.title)} | set(base.bm25.vocab_dict))
    vocab = [v for v in vocab if v]
    real_rows = base.size
    dimension = base.dense.d
    real_vectors = base.dense.reconstruct_n(0, real_rows)
    extra = total - real_rows
    vectors = np.random.default_rng(42).standard_normal((extra, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = make_dense_index(np.vstack([real_vectors, vectors]))

    real_tokens = _real_tokens(matcher)
    synthetic_tokens = [[rng.choice(vocab) for _ in range(rng.randint(5, 40))] for _ in range(extra)]
    bm25 = bm25s.BM25()
    bm25.index(real_tokens + synthetic_tokens, show_progress=False)

    owners = list(base.owners)
    per_owner = 50
    for k, start in enumerate(range(real_rows, total, per_owner)):
        owners.append(Owner(f"synthetic-{k}", "runbook", f"Synthetic {k}", start, min(start + per_owner, total)))
    index = SearchIndex(owners, base.signatures, bm25, dense, top_k=prepare_for_queries(dense))
    return Matcher(index, matcher.embedder, matcher.calibration, matcher.passages, threshold=matcher.threshold)


def _real_tokens(matcher: Matcher) -> list[list[str]]:
    rows = matcher.passages(list(range(matcher.index.size)))
    return [tokenize(rows[i].search_text) or ["∅"] for i in range(matcher.index.size)]


def main() -> dict[str, Any]:
    texts = queries()
    matcher = open_matcher(KnowledgeSettings(), progress=False)
    shipped = summary(per_query_ms(matcher, texts))
    reports = queries(ROOT / "runbooks" / "reports.jsonl")
    real = summary(per_query_ms(matcher, reports, rounds=1))
    large = enlarged(matcher, TARGET_PASSAGES)
    big = summary(per_query_ms(large, texts))
    result = {
        "queries": len(texts),
        "shipped_index": {"passages": matcher.index.size, **shipped},
        "real_reports": {"queries": len(reports), "median_chars": sorted(map(len, reports))[len(reports) // 2], **real},
        "large_index": {"passages": large.index.size, **big},
        "unit": "ms per pasted error (wall clock, one at a time)",
    }
    save("match_warm", result)
    return result


if __name__ == "__main__":
    main()
