"""Error signatures: compiled once, matched against pasted text, strongest hit per runbook."""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.runbook import Runbook, Signature

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b")  # a stray or cut-off ESC too
SPACES = re.compile(r"\s+")


def fold_width(text: str) -> str:
    """NFKC: fullwidth "ＮＯ ＩＰｓ" (typed on a CJK input method) and other compatibility forms read as
    their plain equivalents; Chinese characters are unchanged. Cheap when the text is already plain."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def flatten(text: str) -> str:
    """Text as signatures see it: no ANSI colour codes, compatibility forms folded, every run of
    whitespace one space. Log viewers wrap long errors over several lines; flattening lets one
    signature match them whole."""
    return SPACES.sub(" ", ANSI.sub("", fold_width(text))).strip()


@dataclass(frozen=True)
class SignatureHit:
    runbook_id: str
    signature: Signature
    matched: str

    @property
    def weight(self) -> float:
        return self.signature.weight


def line_starts(lines: Sequence[str]) -> list[int]:
    """Offset of each line in "\\n".join(lines)."""
    return [0, *itertools.accumulate(len(line) + 1 for line in lines[:-1])]


def lines_containing(lowered: str, starts: Sequence[int], word: str) -> Iterator[int]:
    """The numbers of the lines of `lowered` that contain `word`, each once, in order: a substring search
    that skips to the next line after each hit."""
    at = lowered.find(word)
    while at >= 0:
        line_no = bisect.bisect_right(starts, at) - 1
        yield line_no
        at = lowered.find(word, starts[line_no + 1] if line_no + 1 < len(starts) else len(lowered))


MIN_NEEDLE = 4  # shorter words occur everywhere and select nothing
MAX_NEEDLE_LINES = 2000  # past this many candidate lines one scan of the whole text is cheaper


def _needles(pattern: str) -> tuple[str, ...] | None:
    """Words one of which every match must contain (lower-case), to find candidate lines with a plain
    substring search before running the regex; None when no such word can be read off the pattern."""
    from re import _parser as parser  # type: ignore[attr-defined]  # re's own parser, stable since 3.11

    try:
        tree = parser.parse(pattern)
    except re.error:
        return None
    found = _requirement(list(tree))
    return tuple(sorted(found)) if found else None


def _requirement(items: list[Any]) -> set[str] | None:
    """The most selective requirement of a parsed sequence: a set of words, one of which must appear."""
    from re import _constants as c  # type: ignore[attr-defined]

    candidates: list[set[str]] = []
    run: list[str] = []

    def close_run() -> None:
        # Chinese words are short but specific: two characters select as well as four letters
        words = [w for w in "".join(run).lower().split() if len(w) >= (MIN_NEEDLE if w.isascii() else 2)]
        if words:
            candidates.append({max(words, key=len)})
        run.clear()

    for op, arg in items:
        if op is c.LITERAL:
            run.append(chr(arg))
            continue
        close_run()
        if op is c.BRANCH:
            branches = [_requirement(list(alt)) for alt in arg[1]]
            if all(b for b in branches):
                candidates.append(set().union(*branches))  # type: ignore[arg-type]
        elif op is c.SUBPATTERN:
            inner = _requirement(list(arg[-1]))
            if inner:
                candidates.append(inner)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and arg[0] >= 1:
            inner = _requirement(list(arg[2]))
            if inner:
                candidates.append(inner)
    close_run()
    if not candidates:
        return None
    return max(candidates, key=lambda words: min(len(w) for w in words))


class SignatureSet:
    """All runbooks' signatures, compiled. `best(text)` gives each runbook's strongest hit."""

    def __init__(self, signatures: Iterable[tuple[str, Signature]]) -> None:
        self._compiled: list[tuple[str, Signature, re.Pattern[str]]] = []
        self._needles: list[tuple[str, ...] | None] = []
        for runbook_id, sig in signatures:
            source = sig.pattern if sig.is_regex else re.escape(sig.pattern)
            self._compiled.append((runbook_id, sig, re.compile(source, re.IGNORECASE)))
            self._needles.append(_needles(source))
        # which signatures each word lets through; signatures with no word are always tried
        self._by_needle: dict[str, list[int]] = {}
        self._always: list[int] = []
        for i, needles in enumerate(self._needles):
            for needle in needles or ():
                self._by_needle.setdefault(needle, []).append(i)
            if needles is None:
                self._always.append(i)

    @classmethod
    def from_runbooks(cls, runbooks: Iterable[Runbook]) -> SignatureSet:
        return cls((rb.id, sig) for rb in runbooks for sig in rb.signatures)

    @classmethod
    def from_records(cls, records: Iterable[Sequence[Any]]) -> SignatureSet:
        """From [owner, pattern, is_regex, weight, source] rows, as the index manifest stores them."""
        return cls((str(r[0]), Signature(str(r[1]), bool(r[2]), float(r[3]), str(r[4]))) for r in records)

    def hits(self, text: str, *, flat: bool = False) -> list[SignatureHit]:
        """Every signature that matches `text` (flattened first unless `flat`). Most of the 360 regexes
        are skipped by the substring test for a word they need (`_needles`), as in `line_hits`."""
        subject = text if flat else flatten(text)
        lowered = subject.lower()
        candidates = set(self._always)
        for needle, owners in self._by_needle.items():
            if needle in lowered:
                candidates.update(owners)
        found = []
        for i in sorted(candidates):
            runbook_id, sig, pattern = self._compiled[i]
            m = pattern.search(subject)
            if m:
                found.append(SignatureHit(runbook_id, sig, m.group(0)))
        return found

    def line_hits(self, lines: Sequence[str], lowered: str, starts: Sequence[int]) -> dict[int, tuple[float, int]]:
        """For a long paste split in lines (`lowered` is "\\n".join(lines).lower(), `starts` each line's
        offset in it): line number -> (strongest signature weight, where in the line it matched). Each
        signature first looks for a word it cannot match without (a plain substring search, microseconds
        per megabyte), and runs its regex only on the lines holding that word; a 20,000-line log costs
        milliseconds, not one regex scan per signature."""
        found: dict[int, tuple[float, int]] = {}
        joined: list[str] = []  # the original text, joined only if a signature has no word to look for

        def record(line_no: int, weight: float, at: int) -> None:
            if weight > found.get(line_no, (0.0, 0))[0]:
                found[line_no] = (weight, at)

        for (_, sig, pattern), needles in zip(self._compiled, self._needles, strict=True):
            candidates: set[int] = set()
            for needle in needles or ():
                candidates.update(itertools.islice(lines_containing(lowered, starts, needle), MAX_NEEDLE_LINES + 1))
            too_many = len(candidates) > MAX_NEEDLE_LINES
            if needles is None or too_many:
                if not joined:
                    joined.append("\n".join(lines))
                for m in pattern.finditer(joined[0]):
                    line_no = bisect.bisect_right(starts, m.start()) - 1
                    record(line_no, sig.weight, m.start() - starts[line_no])
                continue
            for line_no in candidates:
                found_at = pattern.search(lines[line_no]) or pattern.search(flatten(lines[line_no]))
                if found_at:
                    record(line_no, sig.weight, found_at.start())
        return found

    def best(self, text: str, *, flat: bool = False) -> dict[str, SignatureHit]:
        """The strongest hit per runbook; among equal weights, the longest matched text explains best."""
        best: dict[str, SignatureHit] = {}
        for hit in self.hits(text, flat=flat):
            current = best.get(hit.runbook_id)
            if current is None or (hit.weight, len(hit.matched)) > (current.weight, len(current.matched)):
                best[hit.runbook_id] = hit
        return best
