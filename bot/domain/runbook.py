"""Runbook value types: what the knowledge base holds about one CNI fault."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]
Risk = Literal["low", "medium", "high"]

SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
RISKS: tuple[str, ...] = ("low", "medium", "high")
CNIS: tuple[str, ...] = ("calico", "flannel", "cilium", "any")
WHERE: tuple[str, ...] = ("node", "pod", "admin workstation")


@dataclass(frozen=True)
class Signature:
    """A string the fault prints: a literal (`text`, case-insensitive) or a `regex`."""

    pattern: str
    is_regex: bool
    weight: float
    source: str = ""

    @property
    def label(self) -> str:
        return f"regex {self.pattern!r}" if self.is_regex else repr(self.pattern)


@dataclass(frozen=True)
class DiagnosisStep:
    """One read-only check: a probe cnibot runs, or a command for a human."""

    why: str
    probe: str | None = None
    command: str | None = None
    where: str | None = None


@dataclass(frozen=True)
class RemediationStep:
    step: str
    mutating: bool
    risk: Risk
    command: str | None = None
    caution: str | None = None
    action: str | None = None  # the catalogue action that carries this step out after approval


@dataclass(frozen=True)
class RiskNote:
    level: Risk
    risk: str
    mitigation: str


@dataclass(frozen=True)
class Runbook:
    id: str
    title: str
    severity: Severity
    cni: tuple[str, ...]
    aliases: tuple[str, ...]
    symptoms: tuple[str, ...]
    signatures: tuple[Signature, ...]
    samples: tuple[str, ...]
    diagnosis: tuple[DiagnosisStep, ...]
    remediation: tuple[RemediationStep, ...]
    verify: tuple[str, ...]
    risks: tuple[RiskNote, ...]
    safety: tuple[str, ...]
    related: tuple[str, ...]
    body: str
    path: str = ""
    sections: tuple[tuple[str, str], ...] = field(default=())

    @property
    def probe_ids(self) -> tuple[str, ...]:
        """The probes the diagnosis names, in order, without repeats."""
        seen: dict[str, None] = {}
        for step in self.diagnosis:
            if step.probe:
                seen.setdefault(step.probe, None)
        return tuple(seen)

    def section(self, heading: str) -> str | None:
        for name, text in self.sections:
            if name.lower() == heading.lower():
                return text
        return None


@dataclass(frozen=True)
class Lookalike:
    """A fault that shares words with CNI errors but is not one (image pulls, OOM kills, ...).

    Matching a paste to a look-alike is how cnibot abstains with a useful pointer."""

    id: str
    title: str
    hint: str
    signatures: tuple[Signature, ...]
    samples: tuple[str, ...]
