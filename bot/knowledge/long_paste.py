"""Long pastes (a whole log, a `kubectl describe`): find the lines worth matching."""

from __future__ import annotations

import bisect
import re

from bot.knowledge.normalize import normalize
from bot.knowledge.signatures import SignatureSet

LONG_PASTE_LINES = 6
LONG_PASTE_CHARS = 1500
MAX_CANDIDATES = 48
MAX_LINE_CHARS = 2000

ERRORISH = re.compile(
    r"error|fail|unable|cannot|can't|couldn't|refused|time[d ]?out|unreachable|denied|not ready|notready"
    r"|overflow|exhaust|no route|too long|crashloop|back-?off|unhealthy|forbidden|invalid|no such|panic"
    r"|^\s*[EWF]\d{4} |level=(?:error|warn|fatal)|\[(?:ERROR|WARNING|FATAL)\]|\bwarning\b"
    r"|\"level\":\"(?:error|warn)",
    re.IGNORECASE,
)


def is_long(text: str) -> bool:
    return text.count("\n") + 1 > LONG_PASTE_LINES or len(text) > LONG_PASTE_CHARS


def error_lines(text: str, signatures: SignatureSet) -> tuple[list[str], int]:
    """The distinct lines that carry an error, signature lines first; and how many lines were scanned.

    Signatures are searched over the whole text once each (fast even for 20,000 lines), then mapped
    back to lines; other lines qualify by looking like an error."""
    lines = text.splitlines()
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    weight_of_line: dict[int, float] = {}
    for position, weight in signatures.positions(text):
        line_no = bisect.bisect_right(starts, position) - 1
        weight_of_line[line_no] = max(weight, weight_of_line.get(line_no, 0.0))
    # strongest signatures first, so a flood of generic lines cannot crowd out the specific error
    signature_lines = sorted(weight_of_line, key=lambda n: (-weight_of_line[n], n))
    ordered = signature_lines + [i for i, line in enumerate(lines) if i not in weight_of_line and ERRORISH.search(line)]
    chosen: list[str] = []
    seen: set[str] = set()
    for i in ordered:
        line = lines[i].strip()[:MAX_LINE_CHARS]
        key = normalize(line).lower()
        if not key or key in seen:
            continue
        seen.add(key)
        chosen.append(line)
        if len(chosen) >= MAX_CANDIDATES:
            break
    return chosen, len(lines)
