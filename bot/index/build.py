"""`cnibot index build`: runbooks -> passages -> embeddings (sentence-transformers) -> faiss, BM25 and
SQLite, plus the ONNX export for queries and the fitted score calibration, recorded in a manifest."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import PROJECT_ROOT
from bot.domain.errors import IndexUnavailableError
from bot.domain.runbook import Lookalike, Runbook
from bot.index.dense import make_dense_index, prepare_for_queries
from bot.index.files import CLASSIFIER, INDEX_FORMAT, TRAINING, WORDS, source_hashes
from bot.knowledge.batch import read_batch, thread_fold, thread_key
from bot.knowledge.classifier import TRAINING_KINDS as CLASSIFIER_KINDS
from bot.knowledge.classifier import ClassifierData, LinearClassifier, train_classifier
from bot.knowledge.fusion import Training, fit_calibrations
from bot.knowledge.loader import LOOKALIKES_FILE, REPORTS_FILE, read_lookalikes, read_runbooks
from bot.knowledge.passages import LOOKALIKE_PREFIX, REPORTED_NOT_CNI, Passage, build_passages
from bot.knowledge.search import Owner, SearchIndex
from bot.knowledge.signatures import SignatureSet
from bot.knowledge.tokens import tokenize
from bot.knowledge.word_classifier import Vocabulary, WordClassifier, WordData

log = logging.getLogger(__name__)

TRAINING_KINDS = ("sample", "symptom", "report")
NOT_CNI_TITLE = "Not a pod-network problem (worded like real reports that turned out to be something else)"
NOT_CNI_HINT = (
    "Reports worded like this were the application, DNS, storage, the control plane or the cloud; "
    "look at the workload's own events and logs first."
)
FIRST_STEPS = 3
VERIFY_SAMPLE = 300


@dataclass(frozen=True)
class BuildReport:
    passages: int
    runbooks: int
    lookalikes: int
    seconds: float
    onnx_min_cosine: float
    training_queries: int


def load_sources(runbooks_dir: Path) -> tuple[list[Runbook], list[Lookalike]]:
    runbooks, problems = read_runbooks(runbooks_dir)
    lookalikes, more = read_lookalikes(runbooks_dir / LOOKALIKES_FILE)
    problems += more
    if problems:
        raise IndexUnavailableError(
            f"cannot build the index: {problems[0]} ({len(problems)} problem(s); run `cnibot runbook check`)"
        )
    return runbooks, lookalikes


def load_reports(runbooks_dir: Path, runbook_ids: set[str]) -> tuple[dict[str, list[tuple[int, str]]], dict[int, str]]:
    """The labelled real reports by runbook id (or "none"), and each report line's thread; an absent
    file means none."""
    path = runbooks_dir / REPORTS_FILE
    if not path.is_file():
        return {}, {}
    reports: dict[str, list[tuple[int, str]]] = {}
    threads: dict[int, str] = {}
    for case in read_batch(str(path), labelled=True):
        label = case.expect or ""
        if label != "none" and label not in runbook_ids:
            raise IndexUnavailableError(f"cannot build the index: {path}:{case.line}: no runbook {label!r}")
        reports.setdefault(label, []).append((case.line, case.text))
        if case.source:
            threads[case.line] = case.source
    return reports, threads


def step_text(step: Any) -> str:
    action = f"probe {step.probe}" if step.probe else f"on the {step.where}: {step.command}"
    return f"{action} — {step.why}"


def display_path(path: str) -> str:
    """A runbook's path as users should see it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return path


def owners_of(passages: list[Passage], runbooks: list[Runbook], lookalikes: list[Lookalike]) -> list[Owner]:
    by_runbook = {rb.id: rb for rb in runbooks}
    by_lookalike = {LOOKALIKE_PREFIX + x.id: x for x in lookalikes}
    bounds: dict[str, list[int]] = {}
    for row, p in enumerate(passages):
        bounds.setdefault(p.owner, [row, row + 1])[1] = row + 1
    owners = []
    for owner_id, (start, end) in bounds.items():
        if owner_id == LOOKALIKE_PREFIX + REPORTED_NOT_CNI:
            owners.append(Owner(REPORTED_NOT_CNI, "lookalike", NOT_CNI_TITLE, start, end, hint=NOT_CNI_HINT))
        elif owner_id in by_runbook:
            rb = by_runbook[owner_id]
            steps = tuple(step_text(s) for s in rb.diagnosis[:FIRST_STEPS])
            path = display_path(rb.path)
            owners.append(Owner(rb.id, "runbook", rb.title, start, end, path=path, first_steps=steps))
        else:
            x = by_lookalike[owner_id]
            owners.append(Owner(x.id, "lookalike", x.title, start, end, hint=x.hint))
    return owners


def signature_records(runbooks: list[Runbook], lookalikes: list[Lookalike]) -> list[list[Any]]:
    records: list[list[Any]] = [
        [rb.id, s.pattern, s.is_regex, s.weight, s.source] for rb in runbooks for s in rb.signatures
    ]
    records += [[x.id, s.pattern, s.is_regex, s.weight, s.source] for x in lookalikes for s in x.signatures]
    return records


def save_training(training: Training, path: Path) -> None:
    with path.open("wb") as f:
        np.savez_compressed(f, x=training.x, y=training.y, query=training.query, report=training.report)


def load_training(path: Path) -> Training:
    with np.load(path) as data:
        return Training(x=data["x"], y=data["y"], query=data["query"], report=data["report"])


CROSS_FIT_FOLDS = 5


def classifier_data(passages: list[Passage], owners: list[Owner], vectors: np.ndarray[Any, Any]) -> ClassifierData:
    owner_index = {(LOOKALIKE_PREFIX + o.id if o.kind == "lookalike" else o.id): i for i, o in enumerate(owners)}
    rows = [i for i, p in enumerate(passages) if p.kind in CLASSIFIER_KINDS]
    return ClassifierData(
        vectors=np.asarray(vectors[rows], dtype=np.float32),
        owners=np.array([owner_index[passages[i].owner] for i in rows], dtype=np.int64),
        reports=np.array([passages[i].report for i in rows], dtype=np.int64),
        rows=np.array(rows, dtype=np.int64),
        n_owners=len(owners),
    )


def word_data(passages: list[Passage], clf_data: ClassifierData) -> WordData:
    """The word classifier's training rows: the embedding classifier's, as words."""
    texts = [passages[int(i)].search_text for i in clf_data.rows]
    vocabulary = Vocabulary.fit(texts)
    x = vocabulary.matrix(texts)
    return WordData(x, clf_data.owners, clf_data.reports, clf_data.rows, clf_data.n_owners, vocabulary)


def _save_model(path: Path, weights: Any, bias: Any, data: ClassifierData | WordData, **arrays: Any) -> None:
    """A classifier's weights and what it was trained on (its rows' owners, report lines and passage
    rows), so `--cv` can retrain it without a fold."""
    with path.open("wb") as f:
        np.savez_compressed(
            f,
            weights=weights,
            bias=bias,
            owners=data.owners,
            reports=data.reports,
            rows=data.rows,
            n_owners=np.array(data.n_owners),
            **arrays,
        )


def save_words(data: WordData, model: WordClassifier, path: Path) -> None:
    x = data.x
    _save_model(
        path,
        model.weights,
        model.bias,
        data,
        terms=np.array(data.vocabulary.terms, dtype=str),
        idf=data.vocabulary.idf,
        x_data=x.data,
        x_indices=x.indices,
        x_indptr=x.indptr,
        x_shape=np.array(x.shape),
    )


def load_words(path: Path) -> tuple[WordClassifier, WordData]:
    from scipy import sparse

    with np.load(path) as f:
        vocabulary = Vocabulary(tuple(str(t) for t in f["terms"]), f["idf"])
        x = sparse.csr_matrix((f["x_data"], f["x_indices"], f["x_indptr"]), shape=tuple(int(v) for v in f["x_shape"]))
        data = WordData(x, f["owners"], f["reports"], f["rows"], int(f["n_owners"]), vocabulary)
        return WordClassifier(vocabulary, f["weights"], f["bias"]), data


def save_classifier(data: ClassifierData, classifier: LinearClassifier, path: Path) -> None:
    _save_model(path, classifier.weights, classifier.bias, data, vectors=data.vectors)


def load_classifier(path: Path) -> tuple[LinearClassifier, ClassifierData]:
    with np.load(path) as f:
        data = ClassifierData(f["vectors"], f["owners"], f["reports"], f["rows"], int(f["n_owners"]))
        return LinearClassifier(f["weights"], f["bias"]), data


def cross_fitted(
    trained_rows: np.ndarray[Any, Any],
    query_rows: list[int],
    train: Callable[[np.ndarray[Any, Any]], Any],
    predict: Callable[[Any, list[int]], Any],
    fold_of: Callable[[int], int],
    *,
    workers: int = 1,
) -> dict[int, Any]:
    """For each training query (a passage row), a classifier's probabilities from a model that did not
    train on that passage, nor on any report of the same thread: the calibration must learn how the
    classifier does on text it has not seen. `train(keep)` fits on the training rows `keep` selects;
    `predict(model, rows)` scores passage rows; `fold_of(row)` puts a passage row in its fold. With
    `workers` > 1 the folds train in threads (worth it only where training leaves cores idle)."""
    trained_folds = np.array([fold_of(int(r)) for r in trained_rows], dtype=np.int64)
    queries = {fold: [r for r in query_rows if fold_of(r) == fold] for fold in range(CROSS_FIT_FOLDS)}
    folds = [fold for fold, mine in queries.items() if mine]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        models = list(pool.map(lambda fold: train(trained_folds != fold), folds))
    out: dict[int, Any] = {}
    for fold, model in zip(folds, models, strict=True):
        out.update(zip(queries[fold], predict(model, queries[fold]), strict=True))
    return out


class ThreadFolds:
    """Which passages tell of the same incident. Two reports from one thread are one incident told
    twice: scoring one as a query while the other stays findable (or in the classifier's training)
    flatters every signal, and a calibration fitted on flattered signals trusts them too much on new
    text. So a report query hides its whole thread, and cross-fitting folds by thread, as `eval --cv`
    does."""

    def __init__(self, passages: list[Passage], threads: Mapping[int, str]) -> None:
        self.key = {
            row: thread_key(threads.get(p.report, ""), p.report) for row, p in enumerate(passages) if p.kind == "report"
        }
        self.rows_of: dict[str, set[int]] = {}
        for row, key in self.key.items():
            self.rows_of.setdefault(key, set()).add(row)

    def hidden(self, row: int) -> set[int]:
        key = self.key.get(row)
        return self.rows_of[key] if key is not None else {row}

    def fold(self, row: int) -> int:
        key = self.key.get(row)
        return row % CROSS_FIT_FOLDS if key is None else thread_fold(key, CROSS_FIT_FOLDS)


def training_rows(
    index: SearchIndex,
    passages: list[Passage],
    vectors: np.ndarray[Any, np.dtype[np.float32]],
    clf_data: ClassifierData | None = None,
    words: WordData | None = None,
    threads: Mapping[int, str] | None = None,
) -> Training:
    """Every sample, symptom and real report scored as a query with its own passage hidden (a report:
    its whole thread), so that no query can find itself."""
    rows = [i for i, p in enumerate(passages) if p.kind in TRAINING_KINDS]
    folds = ThreadFolds(passages, threads or {})
    owner_index = {o.id: i for i, o in enumerate(index.owners)}
    truth = [owner_index[p.owner.removeprefix(LOOKALIKE_PREFIX)] for p in (passages[i] for i in rows)]
    signals = index.signals(
        [passages[i].text for i in rows],
        [passages[i].search_text for i in rows],
        vectors[rows],
        hidden_rows=[folds.hidden(i) for i in rows],
    )
    if clf_data is not None:
        proba = cross_fitted(
            clf_data.rows,
            rows,
            lambda keep: train_classifier(clf_data.vectors[keep], clf_data.owners[keep], clf_data.n_owners),
            lambda model, mine: model.proba(vectors[mine]),
            folds.fold,
        )
        for row, s in zip(rows, signals, strict=True):
            s.clf = proba[row]
    if words is not None:
        word_proba = cross_fitted(
            words.rows,
            rows,
            words.train,
            lambda model, mine: model.proba([passages[r].search_text for r in mine]),
            folds.fold,
            # scipy's sparse products run on one core; two folds at a time take a third of the time
            workers=min(2, os.cpu_count() or 1),
        )
        for row, s in zip(rows, signals, strict=True):
            s.wclf = word_proba[row]
    n = len(index.owners)
    return Training(
        x=np.vstack([s.features() for s in signals]),
        y=np.concatenate([np.eye(n)[t] for t in truth]),
        query=np.repeat(np.arange(len(rows)), n),
        report=np.array([passages[i].report for i in rows], dtype=np.int64),
    )


def build_index(runbooks_dir: Path, index_dir: Path, model_ref: str, *, progress: bool = True) -> BuildReport:
    started = time.perf_counter()
    runbooks, lookalikes = load_sources(runbooks_dir)
    reports, threads = load_reports(runbooks_dir, {rb.id for rb in runbooks})
    passages = build_passages(runbooks, lookalikes, reports)
    if not passages:
        raise IndexUnavailableError("cannot build the index: the runbooks yield no passages")
    owners = owners_of(passages, runbooks, lookalikes)

    from bot.index.export_onnx import SentenceModel, resolve_model, verify_export

    model_path = resolve_model(model_ref)
    staging = index_dir / f".build-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _say(progress, f"loading {model_ref} from {model_path}")
        model = SentenceModel(model_path)
        texts = [p.search_text for p in passages]
        _say(progress, "exporting the model to ONNX for the query path")
        model.export_onnx(staging)
        # The passages are embedded by the export, the same engine that embeds queries (about 20 s for
        # 2,363 passages on two cores); a sample of them is embedded by the model too, and the export's
        # vectors must agree with those.
        from bot.index.embedder import OnnxEmbedder

        onnx = OnnxEmbedder(staging, max_tokens=model.max_tokens)
        vectors = _embed_with_progress(onnx, model.dimension, texts, progress)
        sample = verification_sample(texts)
        worst = verify_export(vectors[sample], model.embed([texts[i] for i in sample]))

        import bm25s
        import faiss

        dense = make_dense_index(vectors)
        faiss.write_index(dense, str(staging / "dense.faiss"))
        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) or ["∅"] for t in texts], show_progress=False)
        bm25.save(str(staging / "bm25"), show_progress=False)
        _write_passages(staging / "passages.db", passages)

        records = signature_records(runbooks, lookalikes)
        clf_data = classifier_data(passages, owners, vectors)
        classifier = train_classifier(clf_data.vectors, clf_data.owners, clf_data.n_owners)
        save_classifier(clf_data, classifier, staging / CLASSIFIER)
        words = word_data(passages, clf_data)
        word_classifier = words.train()
        save_words(words, word_classifier, staging / WORDS)
        index = SearchIndex(
            owners,
            SignatureSet.from_records(records),
            bm25,
            dense,
            top_k=prepare_for_queries(dense),
            classifier=classifier,
        )
        # the training queries get cross-fitted word probabilities, not the full model's
        training = training_rows(index, passages, vectors, clf_data, words, threads)
        save_training(training, staging / TRAINING)
        calibrations, n_queries = fit_calibrations(training), len(training.report)
        manifest = {
            "format": INDEX_FORMAT,
            "model": model_ref,
            "model_path": str(model_path),
            "max_tokens": model.max_tokens,
            "dimension": int(vectors.shape[1]),
            "sources": source_hashes(runbooks_dir),
            "passages": len(passages),
            "owners": [asdict(o) for o in owners],
            "signatures": records,
            "calibration": {k: v.to_json() for k, v in calibrations.items()},
            "onnx_min_cosine": worst,
            "training_queries": n_queries,
            "report_rows": {str(p.report): row for row, p in enumerate(passages) if p.kind == "report"},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
        _publish(staging, index_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    _say(progress, f"index built: {len(passages)} passages from {len(runbooks)} runbooks in {seconds:.1f} s")
    return BuildReport(len(passages), len(runbooks), len(lookalikes), seconds, worst, n_queries)


def _say(enabled: bool, message: str) -> None:
    if enabled:
        log.info(message)


def _embed_with_progress(
    model: Any, dimension: int, texts: list[str], progress: bool
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Embed in slices while a progress bar counts passages."""
    from tqdm import tqdm

    vectors = np.empty((len(texts), dimension), dtype=np.float32)
    step = 128
    bar_options: dict[str, Any] = {"desc": "embedding passages", "unit": "passage", "file": sys.stderr}
    with tqdm(total=len(texts), disable=not progress, **bar_options) as bar:
        for start in range(0, len(texts), step):
            chunk = texts[start : start + step]
            vectors[start : start + step] = model.embed(chunk)
            bar.update(len(chunk))
    return vectors


def verification_sample(texts: list[str], size: int = VERIFY_SAMPLE) -> list[int]:
    """Rows spread evenly over passage lengths: short signatures to the longest section chunks."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    if len(order) <= size:
        return order
    return [order[round(k * (len(order) - 1) / (size - 1))] for k in range(size)]


def _write_passages(path: Path, passages: list[Passage]) -> None:
    # plain sqlite3: one table written once; sqlite-utils serves the bot's store (bot.store), not the index
    path.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("create table passages (id integer primary key, owner text, kind text, text text, search_text text)")
        db.executemany(
            "insert into passages values (?, ?, ?, ?, ?)",
            ((i, p.owner, p.kind, p.text, p.search_text) for i, p in enumerate(passages)),
        )
        db.execute("create index idx_passages_owner on passages (owner)")


def _publish(staging: Path, index_dir: Path) -> None:
    """Move the new files into place; the manifest goes last, so readers never see a half index."""
    (index_dir / "manifest.json").unlink(missing_ok=True)
    for item in staging.iterdir():
        if item.name == "manifest.json":
            continue
        target = index_dir / item.name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(item, target)
    os.replace(staging / "manifest.json", index_dir / "manifest.json")
