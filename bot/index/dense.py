"""The faiss part of the index: building the vector index and tuning a loaded one for queries."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.knowledge.search import DENSE_TOP_K

HNSW_ABOVE = 20_000  # passages; below this an exact flat scan is faster than a graph walk


def make_dense_index(vectors: np.ndarray[Any, np.dtype[np.float32]]) -> Any:
    """An inner-product faiss index: exact for the shipped knowledge base, HNSW for very large ones."""
    import faiss

    dimension = vectors.shape[1]
    if len(vectors) > HNSW_ABOVE:
        index: Any = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    else:
        index = faiss.IndexFlatIP(dimension)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def prepare_for_queries(index: Any) -> int:
    """Tune a loaded faiss index for one-query-at-a-time use; returns how many rows to ask for."""
    import faiss

    # One query at a time: OpenMP threads only contend with onnxruntime's for the two cores.
    faiss.omp_set_num_threads(1)
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = max(hnsw.efSearch, DENSE_TOP_K)
    return DENSE_TOP_K
