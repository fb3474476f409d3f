"""The index adapter: builds the index files (sentence-transformers embeddings, faiss, BM25, SQLite
passages, the ONNX export and the fitted calibration) and opens them as a `Matcher`.

It owns everything on disk under the index folder, the file lock that serialises rebuilds, and the
faiss and onnxruntime libraries; the matching itself is `bot.knowledge`'s."""
