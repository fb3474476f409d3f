"""The probe contract and the context probes share: a read-only reader, a per-run cache of what was
listed, and an optional matcher that names the runbook for an error message."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.errors import ClusterError
from bot.domain.probe import Finding, ProbeResult, Status, worst

log = logging.getLogger(__name__)

RunbookFor = Callable[[list[str]], list[str | None]]  # error texts -> runbook id (or None) for each


class Reader(Protocol):
    """The only cluster access a probe gets (see bot.cluster.reader.ClusterReader)."""

    server: str

    def get(self, path: str, **query: str | int) -> dict[str, Any]: ...
    def get_optional(self, path: str, **query: str | int) -> dict[str, Any] | None: ...
    def items(self, path: str, *, label_selector: str = "", field_selector: str = "") -> list[dict[str, Any]]: ...
    def items_optional(self, path: str, **selectors: str) -> list[dict[str, Any]] | None: ...
    def pages(
        self, path: str, *, label_selector: str = "", field_selector: str = ""
    ) -> Iterator[list[dict[str, Any]]]: ...
    def table_pages(
        self, path: str, *, label_selector: str = "", field_selector: str = "", with_metadata: bool = True
    ) -> Iterator[dict[str, Any]]: ...
    def log(self, namespace: str, pod: str, *, container: str = "", tail_lines: int = 200) -> str: ...


@dataclass
class Outcome:
    """What a probe's body returns; the runner adds timing and turns errors into results."""

    summary: str
    findings: list[Finding]
    data: dict[str, Any]
    commands: tuple[str, ...] = ()
    status: Status | None = None  # None: the worst finding decides

    def resolved_status(self) -> Status:
        if self.status is not None:
            return self.status
        return worst([f.severity for f in self.findings])


class Probe(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def commands(self) -> tuple[str, ...]: ...

    def run(self, ctx: Any) -> Outcome: ...


def run_probe(probe: Probe, ctx: Any) -> ProbeResult:
    """Run one probe; a failure becomes an `error` result naming the request and the fix, never an exception."""
    started = time.perf_counter()
    try:
        outcome = probe.run(ctx)
    except ClusterError as exc:
        return failed_result(probe, exc.message, request=exc.request, seconds=time.perf_counter() - started)
    except Exception as exc:  # a probe's own bug, or data it did not expect: one result, not a crash
        log.exception("probe %s failed", probe.id)
        message = f"the probe failed on data it did not expect ({type(exc).__name__}: {exc}); please report it"
        return failed_result(probe, message, seconds=time.perf_counter() - started)
    return ProbeResult(
        probe.id,
        probe.title,
        outcome.resolved_status(),
        outcome.summary,
        tuple(outcome.findings),
        outcome.commands or probe.commands,
        outcome.data,
        seconds=time.perf_counter() - started,
    )


def failed_result(probe: Probe, message: str, *, request: str = "", seconds: float = 0.0) -> ProbeResult:
    return ProbeResult(
        probe.id,
        probe.title,
        "error",
        message,
        commands=probe.commands,
        error=message,
        request=request or None,
        seconds=seconds,
    )
