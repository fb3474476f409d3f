"""Opens the index for matching, rebuilding it first when it is missing or stale."""

from __future__ import annotations

import fcntl
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from bot.config import KnowledgeSettings
from bot.domain.errors import IndexUnavailableError
from bot.index.build import load_classifier, load_words
from bot.index.dense import prepare_for_queries
from bot.index.files import IndexPaths, read_manifest, staleness
from bot.knowledge.fusion import Calibration
from bot.knowledge.matcher import PASSAGE_CACHE, Matcher, PassageRow
from bot.knowledge.search import Owner, SearchIndex
from bot.knowledge.signatures import SignatureSet

log = logging.getLogger(__name__)


def ensure_index(settings: KnowledgeSettings, *, progress: bool = True) -> None:
    """Build the index when it is missing or stale; one builder at a time (a file lock)."""
    paths = IndexPaths(settings.index_dir)
    if staleness(paths, settings.runbooks_dir, settings.model) is None:
        return
    try:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        lock = open(settings.index_dir / ".lock", "w")  # noqa: SIM115 - held for the whole build
    except OSError as exc:
        raise IndexUnavailableError(f"cannot write the index under {settings.index_dir}: {exc}") from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        reason = staleness(paths, settings.runbooks_dir, settings.model)  # another process may have built it
        if reason is None:
            return
        if progress:
            log.info("building the index (%s)", reason)
        from bot.index.build import build_index

        build_index(settings.runbooks_dir, settings.index_dir, settings.model, progress=progress)


class SqlitePassages:
    """Passage rows by id, read on demand (only the few that explain an answer)."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        # rows never change while the index is open, and answers keep explaining the same few passages
        self.cache: dict[int, PassageRow] = {}

    def __call__(self, rows: Sequence[int]) -> dict[int, PassageRow]:
        found = {r: row for r in rows if (row := self.cache.get(r)) is not None}
        wanted = [r for r in rows if r not in found]
        if wanted:
            marks = ",".join("?" * len(wanted))
            cursor = self.connection.execute(
                f"select id, kind, text, search_text from passages where id in ({marks})", wanted
            )
            fetched = {int(r[0]): PassageRow(r[1], r[2], r[3]) for r in cursor}
            if len(self.cache) + len(fetched) > PASSAGE_CACHE:
                self.cache.clear()
            self.cache.update(fetched)
            found.update(fetched)
        return found


def open_signatures(settings: KnowledgeSettings, *, progress: bool = True) -> tuple[SignatureSet, set[str]]:
    """Just the signatures and the runbook ids, from the manifest: milliseconds, no model."""
    ensure_index(settings, progress=progress)
    manifest = read_manifest(IndexPaths(settings.index_dir))
    if manifest is None:
        raise IndexUnavailableError(f"no index under {settings.index_dir}; run `cnibot index build`")
    runbooks = {str(o["id"]) for o in manifest["owners"] if o.get("kind") == "runbook"}
    return SignatureSet.from_records(manifest["signatures"]), runbooks


def open_matcher(settings: KnowledgeSettings, *, progress: bool = True, rebuild: bool = True) -> Matcher:
    if rebuild:
        ensure_index(settings, progress=progress)
    paths = IndexPaths(settings.index_dir)
    manifest = read_manifest(paths)
    if manifest is None:
        raise IndexUnavailableError(f"no index under {settings.index_dir}; run `cnibot index build`")
    import bm25s
    import faiss

    from bot.index.embedder import OnnxEmbedder

    try:
        owners = [Owner(**(o | {"first_steps": tuple(o["first_steps"])})) for o in manifest["owners"]]
        bm25 = bm25s.BM25.load(str(paths.bm25), mmap=False, show_progress=False)
        dense = faiss.read_index(str(paths.dense))
        max_tokens = min(int(manifest["max_tokens"]), settings.query_max_tokens)
        embedder = OnnxEmbedder(paths.root, max_tokens=max_tokens)
        classifier, _ = load_classifier(paths.classifier)
        word_classifier, _ = load_words(paths.words)
        calibration = Calibration.from_json(manifest["calibration"]["fused"])
        shortcut = Calibration.from_json(manifest["calibration"]["without_dense"])
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise IndexUnavailableError(
            f"the index under {settings.index_dir} is unreadable ({exc}); run `cnibot index build`"
        ) from exc
    index = SearchIndex(
        owners,
        SignatureSet.from_records(manifest["signatures"]),
        bm25,
        dense,
        top_k=prepare_for_queries(dense),
        classifier=classifier,
        word_classifier=word_classifier,
    )
    passages = SqlitePassages(paths.passages_db)
    return Matcher(index, embedder, calibration, passages, threshold=settings.min_confidence, shortcut=shortcut)
