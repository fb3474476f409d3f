"""Running probes for a request: which probes, against which cluster, within one deadline, with
runbooks named for the errors the probes read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain.errors import ClusterError, UsageError, unknown_id
from bot.domain.match import MatchResult
from bot.domain.probe import ClusterInfo, ProbeReport
from bot.domain.runbook import Runbook
from bot.knowledge.signatures import SignatureSet
from bot.probes.base import Reader, RunbookFor
from bot.probes.context import ProbeContext
from bot.probes.registry import NOT_IN_ALL, PROBES, resolve, run_probes

log = logging.getLogger(__name__)

PING_SECONDS = 5.0  # a working apiserver answers a small GET in milliseconds


class RunReader(Reader, Protocol):
    """A reader for one run: the probes' GETs, plus a quick check that the server is an apiserver."""

    def ping(self, *, seconds: float) -> None: ...


class SharableReader(Protocol):
    """What the probing service needs of a cluster reader (bot.cluster.reader.ClusterReader)."""

    def shared(self, *, seconds: float) -> RunReader: ...


@dataclass
class ClusterHandle:
    """An open cluster connection, as the composition root hands it over."""

    reader: SharableReader
    info: ClusterInfo
    close: Callable[[], None]
    writer_kubeconfig: str = ""  # the simulated cluster's kubeconfig, which also holds the remediator context


def probe_ids_for(target: str) -> list[str]:
    """`all`, or a probe id or alias -> the probe ids to run."""
    if target == "all":
        return [p for p in PROBES if p not in NOT_IN_ALL]
    return [resolve(target)]


def probes_of_runbook(runbook_id: str, runbooks: Sequence[Runbook]) -> list[str]:
    by_id = {rb.id: rb for rb in runbooks}
    if runbook_id not in by_id:
        raise unknown_id("runbook", runbook_id, by_id, "`cnibot runbook list`")
    ids = list(by_id[runbook_id].probe_ids)
    if not ids:
        raise UsageError(f"runbook {runbook_id!r} names no probes")
    return ids


def runbook_namer(match_many: Callable[[Sequence[str]], Sequence[MatchResult]]) -> RunbookFor:
    """Adapts the matcher: for each error text, the confident runbook id or None."""

    def name(texts: list[str]) -> list[str | None]:
        return [r.best.runbook if r.confident and r.best is not None else None for r in match_many(texts)]

    return name


SURE_SIGNATURE = 0.8


def signature_first_namer(signatures: SignatureSet, runbook_ids: set[str], fallback: RunbookFor) -> RunbookFor:
    """Names runbooks for error messages read from the cluster. Those are the exact strings signatures
    are written for, so a strong, unambiguous signature hit decides; only the other messages go to the
    full matcher (whose model and indexes then load, once)."""

    def name(texts: list[str]) -> list[str | None]:
        named: list[str | None] = []
        unsure: list[int] = []
        for i, text in enumerate(texts):
            hits = sorted(signatures.best(text).values(), key=lambda h: -h.weight)
            top = hits[0] if hits else None
            clear = top is not None and (len(hits) == 1 or hits[1].weight < top.weight)
            if top is not None and clear and top.weight >= SURE_SIGNATURE and top.runbook_id in runbook_ids:
                named.append(top.runbook_id)
            else:
                named.append(None)
                unsure.append(i)
        if unsure:
            distinct = list(dict.fromkeys(texts[i] for i in unsure))  # 50 nodes often say the same thing
            answers = dict(zip(distinct, fallback(distinct), strict=True))
            for i in unsure:
                named[i] = answers[texts[i]]
        return named

    return name


def lazy_namer(load: Callable[[], Callable[[Sequence[str]], Sequence[MatchResult]]]) -> RunbookFor:
    """A runbook namer whose matcher loads on first use only (about a second of CPU saved otherwise)."""
    loaded: list[RunbookFor] = []

    def name(texts: list[str]) -> list[str | None]:
        if not loaded:
            loaded.append(runbook_namer(load()))
        return loaded[0](texts)

    return name


class Probing:
    """Probe runs against one cluster, opened on first use and kept until `close`."""

    def __init__(
        self,
        *,
        open_cluster: Callable[[], ClusterHandle],
        runbooks: Callable[[], Sequence[Runbook]],
        namer: RunbookFor,
        deadline: float,
        observe: Callable[[ProbeReport, float], None] | None = None,
    ) -> None:
        """`observe(report, seconds)` is told of every run (the /metrics counters)."""
        self._observe = observe
        self._open_cluster = open_cluster
        self._runbooks = runbooks
        self._namer = namer
        self.deadline = deadline
        self._handle: ClusterHandle | None = None

    def ids_for(self, target: str, runbook: str | None = None) -> list[str]:
        """The probes a request names: `all`, a probe id or alias, or `for RUNBOOK_ID`."""
        if target == "for":
            if not runbook:
                raise UsageError("`probe for` needs a runbook id, e.g. `probe for ipam-exhausted`")
            return probes_of_runbook(runbook, self._runbooks())
        if runbook:
            raise UsageError(f"unexpected argument {runbook!r} after {target!r}")
        return probe_ids_for(target)

    def cluster(self) -> ClusterHandle:
        if self._handle is None:
            self._handle = self._open_cluster()
        return self._handle

    def run(self, ids: Sequence[str]) -> ProbeReport:
        """Run the probes within the deadline. An unreachable, silent, untrusted or impostor cluster is
        reported once, before any probe starts, instead of once per probe."""
        started = time.perf_counter()
        report = self._run(ids)
        if self._observe is not None:
            self._observe(report, time.perf_counter() - started)
        return report

    def _run(self, ids: Sequence[str]) -> ProbeReport:
        handle = self.cluster()
        reader = handle.reader.shared(seconds=self.deadline)
        try:
            reader.ping(seconds=min(PING_SECONDS, self.deadline))
        except ClusterError as exc:
            log.debug("cluster check failed: %s", exc.message)
            return ProbeReport(handle.info, (), exc.message, exc.request or None, tuple(ids))
        ctx = ProbeContext(reader, runbook_for=self._namer)
        results = run_probes(ids, ctx, seconds=self.deadline)
        for r in results:
            log.debug("probe %s: %s in %.2f s", r.probe, r.status, r.seconds)
        return ProbeReport(handle.info, tuple(results))

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()
