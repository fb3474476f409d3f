"""Reading labelled or unlabelled JSON Lines files: one `{"text": ...}` object per line."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.errors import UsageError
from bot.knowledge.paste import check_text


@dataclass(frozen=True)
class Case:
    line: int
    text: str
    expect: str | None = None
    also: tuple[str, ...] = field(default=())
    error: str | None = None
    source: str = ""  # where a labelled case came from (a thread URL); cross-validation folds by it


def thread_key(source: str, line: int) -> str:
    """Which incident a labelled report tells: its thread, or the report alone when it names none.

    Two spellings of one thread's address (a comment's `#issuecomment-…` anchor, a trailing slash, http
    against https, `www.` or capitals in the host) are one thread: otherwise its reports could land in
    different folds and the cross-validation would measure a report against its own thread. The query
    stays (`show_bug.cgi?id=…` names the thread); a source that is not an address is kept as written."""
    source = source.strip()
    _, sep, rest = source.partition("://")
    if not sep:
        return source or f"line {line}"
    host, slash, path = rest.split("#", 1)[0].partition("/")
    return f"https://{host.lower().removeprefix('www.')}{slash}{path}".rstrip("/")


def thread_fold(key: str, folds: int) -> int:
    """A thread's fold, stable across runs and machines: a thread's reports never straddle the part a
    model is fitted on and the part it is measured on (index build and `eval --cv` fold alike)."""
    return zlib.crc32(key.encode()) % folds


def _text_object(line: str) -> dict[str, Any]:
    """One line as a JSON object with a "text" string, or a ValueError that says what is wrong with it."""
    try:
        data_line = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f'not JSON ({exc.msg} at column {exc.colno}); expected {{"text": "..."}}') from exc
    if not isinstance(data_line, dict) or not isinstance(data_line.get("text"), str):
        raise ValueError('expected an object with a "text" string')
    return data_line


def read_batch(path: str, *, labelled: bool = False, data: bytes | None = None) -> list[Case]:
    """Every line as a Case, in order; a bad or blank line becomes a Case with `error` set, so output row
    k answers input line k. A labelled set (eval) skips blank lines and stops at the first bad one.
    `data` is the file's content when it does not come from `path` (stdin)."""
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    cases = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            if not labelled:
                cases.append(Case(number, "", error=f"line {number}: blank line"))
            continue
        try:
            data_line = _text_object(line)
            check_text(data_line["text"], what="the text")
        except (ValueError, UsageError) as exc:
            if labelled:
                raise UsageError(f"{path}:{number}: {exc}") from exc
            cases.append(Case(number, "", error=f"line {number}: {exc}"))
            continue
        expect = data_line.get("expect")
        if labelled and not isinstance(expect, str):
            raise UsageError(f'{path}:{number}: "expect" must be a runbook id or "none"')
        also = data_line.get("also") or []
        source = str(data_line.get("source") or "")
        cases.append(Case(number, data_line["text"], expect, tuple(str(a) for a in also), source=source))
    if not cases:
        raise UsageError(f"{path} holds no lines")
    return cases
