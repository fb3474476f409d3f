"""Answering a paste: check it, match it, and say what to do next (the runbook's probes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain.match import MatchResult
from bot.domain.runbook import Runbook
from bot.knowledge.paste import check_text


class MatchesText(Protocol):
    def match(self, text: str) -> MatchResult: ...
    def match_many(self, texts: Sequence[str]) -> list[MatchResult]: ...


@dataclass(frozen=True)
class Answer:
    """What every front end shows for a paste: the match, and the read-only probes that would confirm it."""

    result: MatchResult
    probes: tuple[str, ...] = ()

    @property
    def runbook(self) -> str | None:
        best = self.result.best
        return best.runbook if self.result.confident and best is not None else None

    def to_json(self) -> dict[str, object]:
        data = self.result.to_json()
        if self.probes:
            data["probes"] = list(self.probes)
        return data


class Answering:
    def __init__(
        self,
        *,
        matcher: Callable[[], MatchesText],
        runbooks: Callable[[], Sequence[Runbook]],
        observe: Callable[[MatchResult, float], None] | None = None,
    ) -> None:
        """`observe(result, seconds)` is told of every match (the /metrics counters)."""
        self._matcher = matcher
        self._runbooks = runbooks
        self._observe = observe

    def _probes_of(self, result: MatchResult) -> tuple[str, ...]:
        best = result.best
        if not result.confident or best is None:
            return ()
        by_id = {rb.id: rb for rb in self._runbooks()}
        runbook = by_id.get(best.runbook)
        return tuple(runbook.probe_ids) if runbook is not None else ()

    def answer(self, text: str) -> Answer:
        """Raises UsageError (one sentence) for an empty or binary paste."""
        text = check_text(text, what="the paste")
        started = time.perf_counter()
        result = self._matcher().match(text)
        if self._observe is not None:
            self._observe(result, time.perf_counter() - started)
        return Answer(result, self._probes_of(result))

    def answer_many(self, texts: Sequence[str]) -> list[Answer]:
        """Pastes already checked, answered with one batched embedding call."""
        return [Answer(r, self._probes_of(r)) for r in self._matcher().match_many(texts)]

    def runbooks(self) -> list[Runbook]:
        return sorted(self._runbooks(), key=lambda rb: rb.id)

    def runbook(self, runbook_id: str) -> Runbook:
        from bot.domain.errors import unknown_id

        wanted = runbook_id.lower()  # ids are lower case; `show Ipam-Exhausted` means the same runbook
        for rb in self._runbooks():
            if rb.id == wanted:
                return rb
        listing = "`cnibot runbook list` (or `list` in the console)"
        raise unknown_id("runbook", runbook_id, (rb.id for rb in self._runbooks()), listing)
