"""What matching a paste returns: ranked, explained runbook candidates, or an honest abstention."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunbookMatch:
    runbook: str
    title: str
    score: float
    why: str
    path: str = ""
    first_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class LookalikeMatch:
    """The paste is closest to a known non-CNI fault."""

    id: str
    title: str
    hint: str
    score: float


@dataclass(frozen=True)
class ErrorGroup:
    """In a long paste: the error lines that point at one runbook."""

    runbook: str
    title: str
    score: float
    lines: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class MatchResult:
    query: str
    confident: bool
    matches: tuple[RunbookMatch, ...]
    lookalike: LookalikeMatch | None = None
    groups: tuple[ErrorGroup, ...] = field(default=())
    lines_scanned: int = 1

    @property
    def best(self) -> RunbookMatch | None:
        return self.matches[0] if self.matches else None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "query": self.query,
            "confident": self.confident,
            "matches": [
                {"runbook": m.runbook, "title": m.title, "score": round(m.score, 4), "why": m.why} for m in self.matches
            ],
        }
        if self.lookalike is not None:
            data["not_cni"] = {
                "id": self.lookalike.id,
                "title": self.lookalike.title,
                "hint": self.lookalike.hint,
                "score": round(self.lookalike.score, 4),
            }
        if len(self.groups) > 1:
            data["groups"] = [
                {"runbook": g.runbook, "score": round(g.score, 4), "count": g.count, "lines": list(g.lines)}
                for g in self.groups
            ]
        return data
