"""Reading labelled or unlabelled JSON Lines files: one `{"text": ...}` object per line."""

from __future__ import annotations

import json
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from bot.domain.errors import UsageError, unknown_id
from bot.knowledge.paste import MAX_PASTE_BYTES, check_text

# a batch is many pastes, but not unbounded: the whole file is held in memory (64 MiB)
MAX_BATCH_BYTES = 8 * MAX_PASTE_BYTES


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


def read_batch(
    path: str,
    *,
    labelled: bool = False,
    stream: BinaryIO | None = None,
    runbook_ids: Collection[str] | None = None,
) -> list[Case]:
    """Every line as a Case, in order; a bad or blank line becomes a Case with `error` set, so output row
    k answers input line k. A labelled set (eval) skips blank lines and stops at the first bad one, and
    with `runbook_ids` at the first label that names no runbook. `stream` is read instead of `path`
    (stdin)."""
    if stream is None:
        try:
            with Path(path).open("rb") as file:
                data = _read_at_most(file, path)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    else:
        data = _read_at_most(stream, path)
    text = data.decode("utf-8", errors="replace")
    # "\n" only: splitlines() would also split a JSON string at a raw U+2028, U+2029 or U+0085, which
    # json.dumps(ensure_ascii=False) writes unescaped, shifting every later line number
    lines = text.removesuffix("\n").split("\n") if text else []
    cases = []
    for number, line in enumerate((line.removesuffix("\r") for line in lines), 1):
        if not line.strip():
            if not labelled:
                cases.append(Case(number, "", error=f"line {number}: blank line"))
            continue
        try:
            data_line = _text_object(line)
            paste = check_text(data_line["text"], what="the text")
        except (ValueError, UsageError) as exc:
            if labelled:
                raise UsageError(f"{path}:{number}: {exc}") from exc
            cases.append(Case(number, "", error=f"line {number}: {exc}"))
            continue
        if not labelled:
            cases.append(Case(number, paste))  # `match --batch` reads only the text
            continue
        expect, also = _labels(data_line, runbook_ids, f"{path}:{number}")
        cases.append(Case(number, paste, expect, also, source=str(data_line.get("source") or "")))
    if not cases:
        raise UsageError(f"{path} holds no lines")
    return cases


def _read_at_most(stream: BinaryIO, path: str) -> bytes:
    data = stream.read(MAX_BATCH_BYTES + 1)  # one byte more tells a file of exactly the limit from a longer one
    if len(data) > MAX_BATCH_BYTES:
        raise UsageError(f"{path} is larger than {MAX_BATCH_BYTES // 1048576} MiB; split it into smaller files")
    return data


def _labels(data_line: dict[str, Any], runbook_ids: Collection[str] | None, where: str) -> tuple[str, tuple[str, ...]]:
    """A labelled line's "expect" and "also", or UsageError naming the line. "also" must be a list: a lone
    string is more likely a slip than a one-item list, and a labelled set should have one spelling."""
    expect = data_line.get("expect")
    if not isinstance(expect, str):
        raise UsageError(f'{where}: "expect" must be a runbook id or "none"')
    also = data_line.get("also")
    also = [] if also is None else also  # absent or null: none; but 0 or "" is a slip, reported below
    if not isinstance(also, list) or not all(isinstance(a, str) for a in also):
        raise UsageError(f'{where}: "also" must be a list of runbook ids')
    if runbook_ids is not None:
        # a typo would otherwise be scored as a miss (or a silent non-match in "also"), never reported
        for label in ([] if expect == "none" else [expect]) + also:
            if label not in runbook_ids:
                raise unknown_id("runbook", label, runbook_ids, "`cnibot runbook list`", where=f"{where}: ")
    return expect, tuple(also)
