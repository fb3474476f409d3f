"""Running probes straight on a reader, without the service's ping and deadline."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.probe import ProbeResult
from bot.probes.base import Reader, RunbookFor
from bot.probes.context import ProbeContext
from bot.probes.registry import run_probes


def run(ids: Sequence[str], reader: Reader, *, runbook_for: RunbookFor | None = None) -> list[ProbeResult]:
    return run_probes(ids, ProbeContext(reader, runbook_for=runbook_for))
