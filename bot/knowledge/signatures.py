"""Error signatures: compiled once, matched against pasted text, strongest hit per runbook."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.runbook import Runbook, Signature

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
SPACES = re.compile(r"\s+")


def flatten(text: str) -> str:
    """Text as signatures see it: no ANSI colour codes, every run of whitespace one space.

    Log viewers wrap long errors over several lines; flattening lets one signature match them whole."""
    return SPACES.sub(" ", ANSI.sub("", text)).strip()


@dataclass(frozen=True)
class SignatureHit:
    runbook_id: str
    signature: Signature
    matched: str

    @property
    def weight(self) -> float:
        return self.signature.weight


class SignatureSet:
    """All runbooks' signatures, compiled. `best(text)` gives each runbook's strongest hit."""

    def __init__(self, signatures: Iterable[tuple[str, Signature]]) -> None:
        self._compiled: list[tuple[str, Signature, re.Pattern[str]]] = []
        for runbook_id, sig in signatures:
            source = sig.pattern if sig.is_regex else re.escape(sig.pattern)
            self._compiled.append((runbook_id, sig, re.compile(source, re.IGNORECASE)))

    @classmethod
    def from_runbooks(cls, runbooks: Iterable[Runbook]) -> SignatureSet:
        return cls((rb.id, sig) for rb in runbooks for sig in rb.signatures)

    @classmethod
    def from_records(cls, records: Iterable[Sequence[Any]]) -> SignatureSet:
        """From [owner, pattern, is_regex, weight, source] rows, as the index manifest stores them."""
        return cls((str(r[0]), Signature(str(r[1]), bool(r[2]), float(r[3]), str(r[4]))) for r in records)

    def hits(self, text: str, *, flat: bool = False) -> list[SignatureHit]:
        """Every signature that matches `text` (flattened first unless `flat`)."""
        subject = text if flat else flatten(text)
        found = []
        for runbook_id, sig, pattern in self._compiled:
            m = pattern.search(subject)
            if m:
                found.append(SignatureHit(runbook_id, sig, m.group(0)))
        return found

    def positions(self, text: str) -> list[tuple[int, float]]:
        """(start offset, weight) of every signature match in raw, unflattened text such as a whole log."""
        return [(m.start(), sig.weight) for _, sig, pattern in self._compiled for m in pattern.finditer(text)]

    def best(self, text: str, *, flat: bool = False) -> dict[str, SignatureHit]:
        """The strongest hit per runbook; among equal weights, the longest matched text explains best."""
        best: dict[str, SignatureHit] = {}
        for hit in self.hits(text, flat=flat):
            current = best.get(hit.runbook_id)
            if current is None or (hit.weight, len(hit.matched)) > (current.weight, len(current.matched)):
                best[hit.runbook_id] = hit
        return best
