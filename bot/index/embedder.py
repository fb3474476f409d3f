"""The query-time embedder: the index's ONNX export of the sentence-transformers model, run with
`tokenizers` and `onnxruntime` so that matching never imports torch (about 5 s here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


def optimise_onnx(source: Path, target: Path) -> None:
    """Write `source`'s graph with onnxruntime's extended CPU optimisations applied, once, at build."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.log_severity_level = 3
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """Unit-length sentence embeddings, identical (cosine >= 0.999, checked at build) to the model's."""

    def __init__(self, model_dir: Path, *, max_tokens: int = 256, threads: int = 2) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        # the model's tokenizer.json pads every text to 128 tokens; one text per run needs no padding
        self.tokenizer.no_padding()
        self.model_file = model_dir / ONNX_FILE
        if not self.model_file.is_file():
            raise OSError(f"{self.model_file} is missing")
        self.threads = threads
        self._session: Any = None

    @property
    def session(self) -> Any:
        """The ONNX session, opened on first use: a paste that signatures settle never needs it, and
        opening it is a quarter of a cold `cnibot match`."""
        if self._session is None:
            self._session = self._open_session()
            self.input_names = {i.name for i in self._session.get_inputs()}
        return self._session

    def _open_session(self) -> Any:
        import onnxruntime as ort

        from bot.domain.errors import IndexUnavailableError

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # The index stores the graph already optimised (see `optimise_onnx`); re-optimising it at each
        # start would cost about 0.2 s of the cold-start budget for no gain.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        try:
            return ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for a truncated or foreign file
            raise IndexUnavailableError(
                f"the index's {self.model_file.name} is unreadable ({exc}); run `cnibot index build`"
            ) from exc

    def embed(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """One text per run: a batch pads every text to its longest, and even length-sorted batches of 32
        took 3.8 s where one at a time took 2.3 s for 300 passages on two cores, the same vectors to
        within 1e-7 (the index build went from 69 to 50 s)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        session = self.session
        rows = []
        for encoding in self.tokenizer.encode_batch(texts):
            feed = {
                "input_ids": np.array([encoding.ids], dtype=np.int64),
                "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
            }
            rows.append(session.run(None, {k: v for k, v in feed.items() if k in self.input_names})[0][0])
        return np.vstack(rows).astype(np.float32, copy=False)
