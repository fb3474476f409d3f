"""Reading labelled or unlabelled JSON Lines files: one `{"text": ...}` object per line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.errors import UsageError
from bot.knowledge.paste import check_text


@dataclass(frozen=True)
class Case:
    line: int
    text: str
    expect: str | None = None
    also: tuple[str, ...] = field(default=())
    error: str | None = None


def read_batch(path: str, *, labelled: bool = False) -> list[Case]:
    """Every line as a Case; a bad line becomes a Case with `error` set, so the output keeps its order."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    cases = []
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not isinstance(data.get("text"), str):
                raise ValueError('expected an object with a "text" string')
            check_text(data["text"], what=f"line {number} text")
        except (ValueError, UsageError) as exc:
            if labelled:
                raise UsageError(f"{path}:{number}: {exc}") from exc
            cases.append(Case(number, "", error=f"line {number}: {exc}"))
            continue
        expect = data.get("expect")
        if labelled and not isinstance(expect, str):
            raise UsageError(f'{path}:{number}: "expect" must be a runbook id or "none"')
        also = data.get("also") or []
        cases.append(Case(number, data["text"], expect, tuple(str(a) for a in also)))
    if not cases:
        raise UsageError(f"{path} holds no lines")
    return cases
