"""Index build time for the shipped runbooks, into a scratch folder (the project's index is untouched)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save
from bot.config import KnowledgeSettings
from bot.index.build import build_index


def main() -> dict[str, Any]:
    settings = KnowledgeSettings()
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        report = build_index(settings.runbooks_dir, Path(scratch), settings.model, progress=False)
        wall = time.perf_counter() - started
    result = {
        "passages": report.passages,
        "runbooks": report.runbooks,
        "seconds": round(wall, 1),
        "onnx_min_cosine": round(report.onnx_min_cosine, 6),
    }
    save("index_build", result)
    return result


if __name__ == "__main__":
    main()
