"""Where the index lives on disk, its manifest, and whether it is stale."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.knowledge.loader import LOOKALIKES_FILE, REPORTS_FILE, runbook_files

# Bump when the passage, tokenisation or feature code changes what an index holds.
INDEX_FORMAT = 12
MANIFEST = "manifest.json"
PASSAGES_DB = "passages.db"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
TRAINING = "training.npz"  # the calibration's training rows, so `cnibot eval --cv` can refit per fold
CLASSIFIER = "classifier.npz"  # the embedding classifier and what it was trained on (refit per fold too)
WORDS = "words.npz"  # the word classifier, its vocabulary and its training matrix (refit per fold too)


@dataclass(frozen=True)
class IndexPaths:
    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def passages_db(self) -> Path:
        return self.root / PASSAGES_DB

    @property
    def dense(self) -> Path:
        return self.root / DENSE

    @property
    def bm25(self) -> Path:
        return self.root / BM25_DIR

    @property
    def training(self) -> Path:
        return self.root / TRAINING

    @property
    def classifier(self) -> Path:
        return self.root / CLASSIFIER

    @property
    def words(self) -> Path:
        return self.root / WORDS


def source_hashes(runbooks_dir: Path) -> dict[str, str]:
    """sha256 of every file the index is built from, by file name."""
    files = [*runbook_files(runbooks_dir), runbooks_dir / LOOKALIKES_FILE, runbooks_dir / REPORTS_FILE]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def read_manifest(paths: IndexPaths) -> dict[str, Any] | None:
    try:
        data = json.loads(paths.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def staleness(paths: IndexPaths, runbooks_dir: Path, model: str) -> str | None:
    """Why the index must be rebuilt, or None when it is current."""
    manifest = read_manifest(paths)
    if manifest is None:
        return "no index has been built yet"
    if manifest.get("format") != INDEX_FORMAT:
        return "the index was built by another version of cnibot"
    if manifest.get("model") != model:
        return f"the index was built with model {manifest.get('model')!r}, not {model!r}"
    if manifest.get("sources") != source_hashes(runbooks_dir):
        return "runbooks changed since the index was built"
    needed = (paths.passages_db, paths.dense, paths.bm25, paths.training, paths.classifier, paths.words)
    for path in (*needed, paths.root / "model.onnx"):
        if not path.exists():
            return f"{path.name} is missing from the index"
    return None
