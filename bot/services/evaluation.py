"""`cnibot eval`: top-1, top-3 and abstention accuracy on a labelled set, for the fused matcher and,
on request, for each signal alone and a plain BM25 baseline over the same runbooks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.batch import Case, read_batch
from bot.knowledge.fusion import Calibration
from bot.knowledge.matcher import Matcher

NONE = "none"


@dataclass(frozen=True)
class Prediction:
    confident: bool
    ranked: tuple[str, ...]


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
        if p.confident and p.ranked and p.ranked[0] in ok:
            report.top1 += 1
        else:
            got = p.ranked[0] if p.confident and p.ranked else "no confident match"
            report.misses.append(f"line {case.line}: expected {case.expect}, got {got}: {text}")
        if ok & set(p.ranked[:3]):
            report.top3 += 1
    return report


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
    cases = read_batch(path, labelled=True)
    texts = [c.text for c in cases]

    def predict_with(calibration: Calibration | None) -> list[Prediction]:
        if calibration is not None:
            matcher.calibration = calibration
        results = matcher.match_many(texts)
        return [Prediction(r.confident, tuple(m.runbook for m in r.matches)) for r in results]

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


def render_report(reports: Sequence[Report]) -> str:
    lines = [f"{'system':<22} {'top-1':>6} {'top-3':>6} {'abstain':>8}  cases"]
    for r in reports:
        lines.append(
            f"{r.system:<22} {r.top1_rate:>6.3f} {r.top3_rate:>6.3f} {r.abstention_rate:>8.3f}  "
            f"{r.cni_cases} CNI + {r.none_cases} none"
        )
    fused = reports[0]
    if fused.misses:
        lines.append(f"\nmisses of {fused.system} ({len(fused.misses)}):")
        lines.extend(f"  {m}" for m in fused.misses)
    return "\n".join(lines)
