"""`cnibot eval`: top-1, top-3 and abstention accuracy on a labelled set, for the fused matcher and,
on request, for each signal alone and a plain BM25 baseline over the same runbooks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.domain.errors import UsageError
from bot.domain.match import MatchResult
from bot.knowledge.batch import Case, read_batch, thread_fold, thread_key
from bot.knowledge.classifier import ClassifierData
from bot.knowledge.fusion import Calibration, Training, fit_calibrations
from bot.knowledge.matcher import Matcher
from bot.knowledge.word_classifier import WordData

NONE = "none"
CURVE_THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)


@dataclass(frozen=True)
class Prediction:
    confident: bool
    ranked: tuple[str, ...]
    score: float = 0.0  # the first answer's fused score
    not_cni: bool = False  # a look-alike (not a pod-network problem) ranked first: no answer at any threshold

    def confident_at(self, threshold: float) -> bool:
        return bool(self.ranked) and not self.not_cni and self.score >= threshold


def prediction_of(result: MatchResult) -> Prediction:
    ranked = tuple(m.runbook for m in result.matches)
    score_ = result.matches[0].score if result.matches else 0.0
    return Prediction(result.confident, ranked, score_, not_cni=result.lookalike is not None and not result.groups)


@dataclass(frozen=True)
class CurvePoint:
    """One threshold's trade-off: recall is top-1 (CNI cases answered right), precision the share of all
    answers given (to CNI and non-CNI text alike) that name the right runbook."""

    threshold: float
    top1: float
    precision: float
    abstention: float
    answers: int


@dataclass
class Report:
    system: str
    cases: int = 0
    cni_cases: int = 0
    none_cases: int = 0
    top1: int = 0
    top3: int = 0
    abstained: int = 0
    misses: list[str] = field(default_factory=list)
    per_runbook: dict[str, list[int]] = field(default_factory=dict)  # runbook -> [confident top-1, cases]
    curve: list[CurvePoint] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.cni_cases if self.cni_cases else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.cni_cases if self.cni_cases else 0.0

    @property
    def abstention_rate(self) -> float:
        return self.abstained / self.none_cases if self.none_cases else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "cases": self.cases,
            "top1": round(self.top1_rate, 4),
            "top3": round(self.top3_rate, 4),
            "abstention": round(self.abstention_rate, 4),
            "per_runbook": {k: {"top1": v[0], "cases": v[1]} for k, v in sorted(self.per_runbook.items())},
            "curve": [
                {
                    "threshold": p.threshold,
                    "top1": round(p.top1, 4),
                    "precision": round(p.precision, 4),
                    "abstention": round(p.abstention, 4),
                    "answers": p.answers,
                }
                for p in self.curve
            ],
            "misses": self.misses,
        }


def score(system: str, cases: Sequence[Case], predictions: Sequence[Prediction]) -> Report:
    """Top-1 counts only a confident first answer; top-3 is the ranking; abstention is on `none` cases."""
    report = Report(system, cases=len(cases))
    for case, p in zip(cases, predictions, strict=True):
        text = " ".join(case.text.split())[:90]
        if case.expect == NONE:
            report.none_cases += 1
            if not p.confident:
                report.abstained += 1
            else:
                report.misses.append(f"line {case.line}: expected none, got {p.ranked[0]}: {text}")
            continue
        report.cni_cases += 1
        ok = {case.expect, *case.also}
        tally = report.per_runbook.setdefault(str(case.expect), [0, 0])
        tally[1] += 1
        if p.confident and p.ranked and p.ranked[0] in ok:
            report.top1 += 1
            tally[0] += 1
        else:
            got = p.ranked[0] if p.confident and p.ranked else "no confident match"
            report.misses.append(f"line {case.line}: expected {case.expect}, got {got}: {text}")
        if ok & set(p.ranked[:3]):
            report.top3 += 1
    report.curve = threshold_curve(cases, predictions)
    return report


def threshold_curve(
    cases: Sequence[Case], predictions: Sequence[Prediction], thresholds: Sequence[float] = CURVE_THRESHOLDS
) -> list[CurvePoint]:
    """Top-1, precision and abstention as the confidence threshold moves (README, "Choosing the
    threshold"). Long pastes answered per fault are approximated by their leading answer's score."""
    points = []
    for threshold in thresholds:
        right = answers = cni = none = abstained = 0
        for case, p in zip(cases, predictions, strict=True):
            answered = p.confident_at(threshold)
            answers += answered
            if case.expect == NONE:
                none += 1
                abstained += not answered
                continue
            cni += 1
            right += answered and p.ranked[0] in {case.expect, *case.also}
        points.append(
            CurvePoint(
                threshold,
                right / cni if cni else 0.0,
                right / answers if answers else 1.0,
                abstained / none if none else 0.0,
                answers,
            )
        )
    return points


def plain_bm25(files: Sequence[Path]) -> Callable[[Sequence[str]], list[Prediction]]:
    """The baseline: BM25 over each runbook's whole file, lower-cased words, no normalisation."""
    import bm25s

    ids = [f.stem for f in files]
    words = re.compile(r"\w+")
    retriever = bm25s.BM25()
    retriever.index([words.findall(f.read_text(encoding="utf-8").lower()) for f in files], show_progress=False)

    def predict(texts: Sequence[str]) -> list[Prediction]:
        out = []
        for text in texts:
            scores = retriever.get_scores(words.findall(text.lower()))
            order = sorted(range(len(ids)), key=lambda i: -scores[i])
            out.append(Prediction(bool(scores[order[0]] > 0), tuple(ids[i] for i in order)))
        return out

    return predict


def evaluate_file(
    matcher: Matcher,
    path: str,
    *,
    signal_calibrations: Mapping[str, Calibration] | None = None,
    baseline_files: Sequence[Path] = (),
) -> list[Report]:
    """The fused matcher's report; with `signal_calibrations`, each signal alone too, and with
    `baseline_files`, a plain BM25 baseline over those runbook files."""
    cases = read_batch(path, labelled=True, runbook_ids=matcher.runbook_ids)
    texts = [c.text for c in cases]

    def predict_with(calibration: Calibration | None) -> list[Prediction]:
        if calibration is not None:
            matcher.calibration = calibration
        return [prediction_of(r) for r in matcher.match_many(texts)]

    reports = [score("fused", cases, predict_with(None))]
    if signal_calibrations:
        fused, shortcut = matcher.calibration, matcher.shortcut
        matcher.shortcut = None  # each signal alone, as itself
        try:
            for name, calibration in signal_calibrations.items():
                reports.append(score(f"{name} alone", cases, predict_with(calibration)))
        finally:
            matcher.calibration, matcher.shortcut = fused, shortcut
    if baseline_files:
        reports.append(score("plain BM25 baseline", cases, plain_bm25(baseline_files)(texts)))
    return reports


def cross_validate(
    matcher: Matcher,
    path: str,
    *,
    training: Training,
    report_rows: Mapping[int, int],
    classifier_data: ClassifierData | None = None,
    word_data: WordData | None = None,
    folds: int = 5,
    train_fraction: float = 1.0,
) -> Report:
    """The fused matcher on the reports file it was built from, K-fold: for each fold, the calibration
    is refitted without that fold's reports and their passages are hidden from search, so every case is
    answered by a matcher that never saw it. Folds group cases by thread, so a thread's reports never
    straddle training and measurement.

    `train_fraction` < 1 draws a learning curve: every fold also leaves out the reports of the other
    folds' threads outside that fraction (the same threads for every fold, chosen by a stable hash), so
    the same cases are measured by a matcher that learnt from fewer real reports."""
    cases = read_batch(path, labelled=True, runbook_ids=matcher.runbook_ids)
    missing = [c.line for c in cases if c.line not in report_rows]
    if missing:
        raise UsageError(
            f"--cv measures the reports file the index was built from; {path} line {missing[0]} is not in it"
        )
    if folds < 2:
        raise UsageError("--cv needs at least 2 folds")
    if not 0 < train_fraction <= 1:
        raise UsageError(f"the training fraction must be in (0, 1], not {train_fraction}")
    fold_of = {c.line: thread_fold(thread_key(c.source, c.line), folds) for c in cases}
    # thread_fold over 1,000 "folds" is a stable per-thread number in 0..999
    left_out = {c.line for c in cases if thread_fold(thread_key(c.source, c.line), 1000) >= train_fraction * 1000}
    predictions: dict[int, Prediction] = {}
    index = matcher.index
    saved = (matcher.calibration, matcher.shortcut, matcher.hidden, index.classifier, index.word_classifier)
    try:
        for fold in range(folds):
            held = [c for c in cases if fold_of[c.line] == fold]
            if not held:
                continue
            held_lines = {c.line for c in held} | left_out
            keep = np.array([line == 0 or line not in held_lines for line in training.report])
            calibrations = fit_calibrations(training, keep)
            matcher.calibration, matcher.shortcut = calibrations["fused"], calibrations["without_dense"]
            matcher.hidden = {report_rows[line] for line in held_lines}
            if classifier_data is not None:
                index.classifier = classifier_data.without_reports(held_lines)
            if word_data is not None:
                index.word_classifier = word_data.without_reports(held_lines)
            for case, result in zip(held, matcher.match_many([c.text for c in held]), strict=True):
                predictions[case.line] = prediction_of(result)
    finally:
        matcher.calibration, matcher.shortcut, matcher.hidden, index.classifier, index.word_classifier = saved
    return score(f"fused, {folds}-fold cross-validated", cases, [predictions[c.line] for c in cases])


def render_report(reports: Sequence[Report], *, curve: bool = False) -> str:
    lines = [f"{'system':<22} {'top-1':>6} {'top-3':>6} {'abstain':>8}  cases"]
    for r in reports:
        lines.append(
            f"{r.system:<22} {r.top1_rate:>6.3f} {r.top3_rate:>6.3f} {r.abstention_rate:>8.3f}  "
            f"{r.cni_cases} CNI + {r.none_cases} none"
        )
    fused = reports[0]
    if curve and fused.curve:
        lines.append(f"\nthreshold curve of {fused.system}:")
        lines.append(f"  {'threshold':>9} {'top-1':>6} {'precision':>9} {'abstain':>8} {'answers':>8}")
        for point in fused.curve:
            lines.append(
                f"  {point.threshold:>9.2f} {point.top1:>6.3f} {point.precision:>9.3f} "
                f"{point.abstention:>8.3f} {point.answers:>8}"
            )
    if fused.per_runbook:
        lines.append("\nper runbook (confident top-1):")
        for runbook, (hits, total) in sorted(fused.per_runbook.items()):
            lines.append(f"  {runbook:<30} {hits:>3}/{total:<3} {hits / total:.2f}")
    if fused.misses:
        lines.append(f"\nmisses of {fused.system} ({len(fused.misses)}):")
        lines.extend(f"  {m}" for m in fused.misses)
    return "\n".join(lines)
