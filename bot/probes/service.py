"""Running probes for a caller (CLI, console): resolve ids, share one context, name runbooks via the matcher."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from bot.domain.errors import UsageError
from bot.domain.match import MatchResult
from bot.domain.probe import ProbeResult
from bot.domain.runbook import Runbook
from bot.probes.base import Reader, RunbookFor
from bot.probes.context import ProbeContext
from bot.probes.registry import PROBES, resolve, run_probes


def probe_ids_for(target: str, runbooks: Sequence[Runbook]) -> list[str]:
    """`all`, a probe id or alias, or `for RUNBOOK` -> the probe ids to run."""
    if target == "all":
        return list(PROBES)
    return [resolve(target)]


def probes_of_runbook(runbook_id: str, runbooks: Sequence[Runbook]) -> list[str]:
    by_id = {rb.id: rb for rb in runbooks}
    if runbook_id not in by_id:
        raise UsageError(f"no runbook {runbook_id!r}; `cnibot runbook list` shows the ids")
    ids = list(by_id[runbook_id].probe_ids)
    if not ids:
        raise UsageError(f"runbook {runbook_id!r} names no probes")
    return ids


def runbook_namer(match_many: Callable[[Sequence[str]], Sequence[MatchResult]]) -> RunbookFor:
    """Adapts the matcher: for each error text, the confident runbook id or None."""

    def name(texts: list[str]) -> list[str | None]:
        return [r.best.runbook if r.confident and r.best is not None else None for r in match_many(texts)]

    return name


def background_namer(load: Callable[[], Callable[[Sequence[str]], Sequence[MatchResult]]]) -> RunbookFor:
    """A runbook namer whose matcher loads in a thread while the first probes wait on the apiserver;
    the first probe that needs a runbook name waits for it (and sees its error, if loading failed)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnibot-matcher")
    loading = pool.submit(load)
    pool.shutdown(wait=False)

    def name(texts: list[str]) -> list[str | None]:
        return runbook_namer(loading.result())(texts)

    return name


def run(ids: Sequence[str], reader: Reader, *, runbook_for: RunbookFor | None = None) -> list[ProbeResult]:
    return run_probes(ids, ProbeContext(reader, runbook_for=runbook_for))
