"""Long pastes (a whole log, a `kubectl describe`): find the lines worth matching."""

from __future__ import annotations

import re

from bot.knowledge.normalize import normalize, strip_prefix
from bot.knowledge.signatures import SignatureSet, fold_width, line_starts, lines_containing

# A paste up to this size is read as one document, as people write an issue or a Slack message: a
# sentence or two, some `kubectl get pods` rows, a log line or ten. Scanning such a report line by line
# loses what the lines say together ("my app" crash-loops vs "calico-node" crash-loops); on the 927
# real reports, cross-validated, reading them whole took top-1 from 0.773 to 0.804 and non-CNI
# abstention from 0.883 to 0.926 (threshold 0.40). Beyond it, a paste is a log: scanned for its error
# lines, each matched on its own.
LONG_PASTE_LINES = 100
LONG_PASTE_CHARS = 6000
MAX_CANDIDATES = 48
MAX_LINE_CHARS = 2000
FOCUS_BEFORE = 300  # characters kept before the error in an overlong line (a log shipper's JSON record)

ERRORISH = re.compile(
    r"error|fail|unable|cannot|can't|couldn't|refused|time[d ]?out|unreachable|denied|not ready|notready"
    r"|overflow|exhaust|no route|too long|crashloop|back-?off|unhealthy|forbidden|invalid|no such|panic"
    r"|^\s*[EWF]\d{4} |level=(?:error|warn|fatal)|\[(?:ERROR|WARNING|FATAL)\]|\bwarning\b"
    r"|\"level\":\"(?:error|warn)",
    re.IGNORECASE,
)


# Words at least one of which every ERRORISH match contains (lower-case), for a substring pre-scan;
# klog's "E0314 ..." prefix is checked per line.
_ERROR_WORDS = (
    "error", "fail", "unable", "cannot", "can't", "couldn't", "refused", "timed out", "timeout", "time out",
    "unreachable", "denied", "not ready", "notready", "overflow", "exhaust", "no route", "too long",
    "crashloop", "backoff", "back-off", "unhealthy", "forbidden", "invalid", "no such", "panic", "warn",
    "level=", "fatal",
)  # fmt: skip


def errorish_lines(lines: list[str], lowered: str, starts: list[int]) -> list[int]:
    """Line numbers that look like an error, in order. A substring pre-scan per word over the whole
    lower-cased text finds the few candidate lines; the regex confirms only those."""
    candidates = {i for i, line in enumerate(lines) if line[:1] in "EWF" and line[1:5].isdigit()}
    for word in _ERROR_WORDS:
        candidates.update(lines_containing(lowered, starts, word))
    return [i for i in sorted(candidates) if ERRORISH.search(lines[i])]


def is_long(text: str) -> bool:
    """A log to scan line by line, rather than a report to read whole: many lines, many characters,
    or one line too long to match (a log shipper's JSON record)."""
    if text.count("\n") + 1 > LONG_PASTE_LINES or len(text) > LONG_PASTE_CHARS:
        return True
    return any(len(line) > MAX_LINE_CHARS for line in text.splitlines())


def focus(line: str, at: int | None) -> str:
    """A line short enough to match: a JSON record's message fields, or the window around the error."""
    line = line.strip()
    if len(line) <= MAX_LINE_CHARS:
        return line
    message = strip_prefix(line)  # a JSON record becomes its msg/message/error/log fields
    if message != line and len(message) <= MAX_LINE_CHARS:
        return message
    if at is None:
        found = ERRORISH.search(line)
        at = found.start() if found else 0
    start = max(0, at - FOCUS_BEFORE)
    return line[start : start + MAX_LINE_CHARS]


def error_lines(text: str, signatures: SignatureSet) -> tuple[list[str], int]:
    """The distinct lines that carry an error, signature lines first; and how many lines were scanned.

    Signatures find their lines with a substring search before any regex runs (see
    SignatureSet.line_hits); other lines qualify by looking like an error. Overlong lines are cut
    around the error, not at their start."""
    lines = fold_width(text).splitlines()
    lowered, starts = "\n".join(lines).lower(), line_starts(lines)
    hits = signatures.line_hits(lines, lowered, starts)
    # strongest signatures first, so a flood of generic lines cannot crowd out the specific error
    signature_lines = sorted(hits, key=lambda n: (-hits[n][0], n))
    chosen: list[str] = []
    seen: set[str] = set()

    def take(i: int) -> bool:
        hit = hits.get(i)
        line = focus(lines[i], hit[1] if hit else None)
        key = normalize(line).lower()
        if key and key not in seen:
            seen.add(key)
            chosen.append(line)
        return len(chosen) >= MAX_CANDIDATES

    for i in signature_lines:
        if take(i):
            return chosen, len(lines)
    for i in errorish_lines(lines, lowered, starts):
        if i not in hits and take(i):
            break
    return chosen, len(lines)
