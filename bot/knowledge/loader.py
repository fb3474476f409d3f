"""Turns runbook files (YAML front matter + Markdown body) into typed `Runbook` objects.

`parse_runbook` is pure (text in, value or problems out); `load_runbooks` only adds reading a folder."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import yaml

from bot.domain.errors import RunbookError
from bot.domain.runbook import (
    CNIS,
    RISKS,
    SEVERITIES,
    WHERE,
    DiagnosisStep,
    Lookalike,
    RemediationStep,
    RiskNote,
    Runbook,
    Signature,
)
from bot.knowledge.problems import Problem

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)
HEADING = re.compile(r"^##[ \t]+(.+?)[ \t]*$", re.MULTILINE)
NOT_RUNBOOKS = {"readme.md"}

try:  # the C loader is ~10x faster; fall back where libyaml is missing
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


class _Fields:
    """Reads typed fields from a mapping, recording a Problem for each one that is wrong."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def fail(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.path, field, message))

    def text(self, data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(where, "is missing")
            return None
        if not isinstance(value, str | int | float):
            self.fail(where, f"must be text, not {type(value).__name__}")
            return None
        return str(value).strip()

    def choice(self, data: dict[str, Any], key: str, where: str, options: Iterable[str]) -> str | None:
        value = self.text(data, key, where)
        allowed = tuple(options)
        if value is not None and value not in allowed:
            self.fail(where, f"is {value!r}; expected one of {', '.join(allowed)}")
            return None
        return value

    def text_list(self, data: dict[str, Any], key: str, *, required: bool = True) -> tuple[str, ...]:
        value = data.get(key)
        if value is None or value == []:
            if required:
                self.fail(key, "is missing or empty")
            return ()
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str | int | float) or not str(item).strip():
                self.fail(f"{key}[{i}]", "must be non-empty text")
                continue
            out.append(str(item).strip())
        return tuple(out)

    def mappings(self, data: dict[str, Any], key: str, *, required: bool = True) -> list[tuple[int, dict[str, Any]]]:
        value = data.get(key)
        if value is None or value == []:
            if required:
                self.fail(key, "is missing or empty")
            return []
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return []
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.fail(f"{key}[{i}]", "must be a mapping")
                continue
            out.append((i, item))
        return out

    def items(
        self,
        data: dict[str, Any],
        key: str,
        build: Callable[[dict[str, Any], str], Any],
        required: bool = True,
    ) -> tuple[Any, ...]:
        built = []
        for index, item in self.mappings(data, key, required=required):
            value = build(item, f"{key}[{index}]")
            if value is not None:
                built.append(value)
        return tuple(built)


def _signature(f: _Fields, item: dict[str, Any], where: str) -> Signature | None:
    text, regex = item.get("text"), item.get("regex")
    if (text is None) == (regex is None):
        f.fail(where, "needs exactly one of `text` or `regex`")
        return None
    pattern = str(text if text is not None else regex)
    if not pattern.strip():
        f.fail(where, "pattern is empty")
        return None
    weight = item.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
        f.fail(f"{where}.weight", f"must be a number in (0, 1], got {weight!r}")
        return None
    if regex is not None:
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            f.fail(f"{where}.regex", f"does not compile: {exc}")
            return None
    return Signature(pattern, regex is not None, float(weight), str(item.get("source") or ""))


def _prefixed_signature(f: _Fields, prefix: str, item: dict[str, Any], where: str) -> Signature | None:
    return _signature(f, item, prefix + where)


def _diagnosis(f: _Fields, item: dict[str, Any], where: str) -> DiagnosisStep | None:
    why = f.text(item, "why", f"{where}.why")
    probe = f.text(item, "probe", f"{where}.probe", required=False)
    command = f.text(item, "command", f"{where}.command", required=False)
    if (probe is None) == (command is None):
        f.fail(where, "needs exactly one of `probe` or `command`")
        return None
    where_value = None
    if command is not None:
        where_value = f.choice(item, "where", f"{where}.where", WHERE)
    if why is None:
        return None
    return DiagnosisStep(why=why, probe=probe, command=command, where=where_value)


def _remediation(f: _Fields, item: dict[str, Any], where: str) -> RemediationStep | None:
    step = f.text(item, "step", f"{where}.step")
    mutating = item.get("mutating")
    if not isinstance(mutating, bool):
        f.fail(f"{where}.mutating", "must be true or false")
    risk = f.choice(item, "risk", f"{where}.risk", RISKS)
    command = f.text(item, "command", f"{where}.command", required=False)
    caution = f.text(item, "caution", f"{where}.caution", required=False)
    action = f.text(item, "action", f"{where}.action", required=False)
    if step is None or risk is None or not isinstance(mutating, bool):
        return None
    return RemediationStep(step, mutating, cast(Any, risk), command, caution, action)


def _risk(f: _Fields, item: dict[str, Any], where: str) -> RiskNote | None:
    level = f.choice(item, "level", f"{where}.level", RISKS)
    risk = f.text(item, "risk", f"{where}.risk")
    mitigation = f.text(item, "mitigation", f"{where}.mitigation")
    if level is None or risk is None or mitigation is None:
        return None
    return RiskNote(cast(Any, level), risk, mitigation)


def split_sections(body: str) -> tuple[tuple[str, str], ...]:
    """The body's `## ` sections as (heading, text) pairs, in order."""
    marks = list(HEADING.finditer(body))
    return tuple(
        (m.group(1), body[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(body)].strip())
        for i, m in enumerate(marks)
    )


def parse_runbook(text: str, path: str) -> tuple[Runbook | None, list[Problem]]:
    """Parse one runbook file's text. Returns the runbook (None if unusable) and every problem found."""
    problems: list[Problem] = []
    f = _Fields(path, problems)
    found = FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not found:
        f.fail("", "has no YAML front matter (a file must start with a line `---`, then YAML, then `---`)")
        return None, problems
    try:
        data = yaml.load(found.group(1), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 2}" if mark is not None else ""
        f.fail("front matter", f"is not valid YAML{line}: {getattr(exc, 'problem', exc)}")
        return None, problems
    if not isinstance(data, dict):
        f.fail("front matter", "must be a YAML mapping")
        return None, problems
    body = found.group(2).strip()

    rid = f.text(data, "id", "id")
    if rid is not None and not ID_PATTERN.match(rid):
        f.fail("id", f"{rid!r} must be lowercase words joined by hyphens")
    stem = Path(path).stem
    if rid is not None and rid != stem:
        f.fail("id", f"{rid!r} differs from the file name {stem!r}")
    title = f.text(data, "title", "title")
    severity = f.choice(data, "severity", "severity", SEVERITIES)
    cni = f.text_list(data, "cni")
    for i, name in enumerate(cni):
        if name not in CNIS:
            f.fail(f"cni[{i}]", f"is {name!r}; expected one of {', '.join(CNIS)}")
    runbook = Runbook(
        id=rid or stem,
        title=title or "",
        severity=cast(Any, severity or "medium"),
        cni=cni,
        aliases=f.text_list(data, "aliases"),
        symptoms=f.text_list(data, "symptoms"),
        signatures=f.items(data, "signatures", lambda d, w: _signature(f, d, w)),
        samples=f.text_list(data, "samples"),
        diagnosis=f.items(data, "diagnosis", lambda d, w: _diagnosis(f, d, w)),
        remediation=f.items(data, "remediation", lambda d, w: _remediation(f, d, w)),
        verify=f.text_list(data, "verify"),
        risks=f.items(data, "risks", lambda d, w: _risk(f, d, w)),
        safety=f.text_list(data, "safety"),
        related=f.text_list(data, "related", required=False),
        body=body,
        path=path,
        sections=split_sections(body),
    )
    if not body:
        f.fail("body", "is empty; it needs at least an `## Overview` section")
    elif runbook.section("Overview") is None:
        f.fail("body", "has no `## Overview` section")
    return runbook, problems


def runbook_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.md") if p.name.lower() not in NOT_RUNBOOKS)


def read_runbooks(directory: Path) -> tuple[list[Runbook], list[Problem]]:
    """Every runbook in `directory` and every problem found while parsing them."""
    runbooks: list[Runbook] = []
    problems: list[Problem] = []
    files = runbook_files(directory)
    if not files:
        problems.append(Problem(str(directory), "", "holds no runbook files (*.md)"))
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), "", f"cannot be read: {exc}"))
            continue
        runbook, found = parse_runbook(text, str(file))
        problems.extend(found)
        if runbook is not None:
            runbooks.append(runbook)
    return runbooks, problems


def load_runbooks(directory: Path) -> list[Runbook]:
    """Every runbook in `directory`; raises RunbookError on the first problem."""
    runbooks, problems = read_runbooks(directory)
    if problems:
        first = problems[0]
        raise RunbookError(first.path, first.field, first.message)
    return runbooks


LOOKALIKES_FILE = "lookalikes.yaml"
# Real reports from public issue threads, labelled (the development set): indexed as passages of the
# runbook they belong to, and the realistic text the score calibration is fitted on.
REPORTS_FILE = "reports.jsonl"


def read_lookalikes(path: Path) -> tuple[list[Lookalike], list[Problem]]:
    """The non-CNI look-alike faults in `path` (a YAML list), and every problem found."""
    problems: list[Problem] = []
    f = _Fields(str(path), problems)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        f.fail("", f"cannot be read: {exc}")
        return [], problems
    if not isinstance(data, list):
        f.fail("", "must be a YAML list of look-alikes")
        return [], problems
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            f.fail(f"[{i}]", "must be a mapping")
            continue
        lid = f.text(item, "id", f"[{i}].id")
        title = f.text(item, "title", f"[{i}].title")
        hint = f.text(item, "hint", f"[{i}].hint")
        sigs = f.items(item, "signatures", functools.partial(_prefixed_signature, f, f"[{i}]."))
        samples = f.text_list(item, "samples")
        if lid and title and hint:
            out.append(Lookalike(lid, title, hint, sigs, samples))
    return out, problems
