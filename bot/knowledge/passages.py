"""Turns runbooks and look-alikes into the passages that lexical and dense search index."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.domain.runbook import Lookalike, Runbook, Signature
from bot.knowledge.normalize import normalize

LOOKALIKE_PREFIX = "not-cni:"
# Owner of the real reports that turned out not to be pod-network problems: a look-alike of its own.
REPORTED_NOT_CNI = "reported-not-cni"
CHUNK_CHARS = 480

_REGEX_SYNTAX = re.compile(r"\(\?[:!=<]*|\\[sSdDwWbB][+*?]?|\[[^\]]*\][+*?]?|[()|?*+^$]|\{\d*,?\d*\}|\\")
_FENCE = re.compile(r"```.*?```", re.DOTALL)


@dataclass(frozen=True)
class Passage:
    owner: str  # a runbook id, or LOOKALIKE_PREFIX + look-alike id
    kind: str  # signature | sample | symptom | alias | title | section:<heading> | diagnosis | remediation
    text: str  # what a user is shown when this passage explains a match
    search_text: str  # what lexical and dense search see
    report: int = 0  # for kind "report": its line in the reports file (cross-validation hides by line)


def regex_words(pattern: str) -> str:
    """A regex as the plain words it looks for: good enough to embed and to search."""
    return re.sub(r"\s+", " ", _REGEX_SYNTAX.sub(" ", pattern.replace(".*", " ").replace(".", " "))).strip()


def signature_text(sig: Signature) -> str:
    return regex_words(sig.pattern) if sig.is_regex else sig.pattern


def _chunks(text: str) -> Iterator[str]:
    """Paragraph-sized pieces of Markdown; code blocks keep their commands, tables their rows."""
    text = _FENCE.sub(lambda m: m.group(0).replace("```", " "), text)
    buffer = ""
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        if buffer and len(buffer) + len(paragraph) > CHUNK_CHARS:
            yield buffer
            buffer = ""
        while len(paragraph) > CHUNK_CHARS * 2:
            cut = paragraph.rfind(" ", 0, CHUNK_CHARS)
            cut = cut if cut > 0 else CHUNK_CHARS
            yield paragraph[:cut]
            paragraph = paragraph[cut:].strip()
        buffer = f"{buffer} {paragraph}".strip()
    if buffer:
        yield buffer


def runbook_passages(rb: Runbook) -> Iterator[Passage]:
    yield Passage(rb.id, "title", rb.title, rb.title)
    for alias in rb.aliases:
        yield Passage(rb.id, "alias", alias, alias)
    for sig in rb.signatures:
        text = signature_text(sig)
        yield Passage(rb.id, "signature", sig.pattern, normalize(text) or text)
    for sample in rb.samples:
        yield Passage(rb.id, "sample", sample, normalize(sample) or sample)
    for symptom in rb.symptoms:
        yield Passage(rb.id, "symptom", symptom, symptom)
    for step in rb.diagnosis:
        yield Passage(rb.id, "diagnosis", step.why, f"{step.command or step.probe or ''} {step.why}".strip())
    for fix in rb.remediation:
        yield Passage(rb.id, "remediation", fix.step, f"{fix.step} {fix.command or ''}".strip())
    for heading, body in rb.sections:
        for chunk in _chunks(body):
            yield Passage(rb.id, f"section:{heading}", chunk, chunk)


def lookalike_passages(item: Lookalike) -> Iterator[Passage]:
    owner = LOOKALIKE_PREFIX + item.id
    yield Passage(owner, "title", item.title, item.title)
    for sig in item.signatures:
        text = signature_text(sig)
        yield Passage(owner, "signature", sig.pattern, normalize(text) or text)
    for sample in item.samples:
        yield Passage(owner, "sample", sample, normalize(sample) or sample)


def report_passages(owner: str, reports: Iterable[tuple[int, str]]) -> Iterator[Passage]:
    """Real reports (line, text) as passages: how people actually describe this fault."""
    for line, text in reports:
        yield Passage(owner, "report", text, normalize(text) or text, report=line)


def build_passages(
    runbooks: Iterable[Runbook],
    lookalikes: Iterable[Lookalike],
    reports: dict[str, list[tuple[int, str]]] | None = None,
) -> list[Passage]:
    """All passages, grouped by owner (the index relies on owners being contiguous). `reports` maps a
    runbook id, or "none", to its labelled real reports; "none" reports form a look-alike of their own."""
    reports = reports or {}
    passages: list[Passage] = []
    seen: set[tuple[str, str]] = set()
    sources: list[Iterator[Passage]] = [
        itertools.chain(runbook_passages(rb), report_passages(rb.id, reports.get(rb.id, ()))) for rb in runbooks
    ]
    sources += [lookalike_passages(x) for x in lookalikes]
    if reports.get("none"):
        sources.append(report_passages(LOOKALIKE_PREFIX + REPORTED_NOT_CNI, reports["none"]))
    for source in sources:
        for p in source:
            key = (p.owner, p.search_text.lower())
            if p.search_text and (key not in seen or p.kind == "report"):
                seen.add(key)
                passages.append(p)
    return passages
