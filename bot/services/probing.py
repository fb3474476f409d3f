"""Running probes for a caller (CLI, console): resolve ids, share one context, name runbooks via the matcher."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.domain.errors import UsageError
from bot.domain.match import MatchResult
from bot.domain.probe import ProbeResult
from bot.domain.runbook import Runbook
from bot.knowledge.signatures import SignatureSet
from bot.probes.base import Reader, RunbookFor
from bot.probes.context import ProbeContext
from bot.probes.registry import PROBES, resolve, run_probes


def probe_ids_for(target: str) -> list[str]:
    """`all`, or a probe id or alias -> the probe ids to run."""
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


def run(ids: Sequence[str], reader: Reader, *, runbook_for: RunbookFor | None = None) -> list[ProbeResult]:
    return run_probes(ids, ProbeContext(reader, runbook_for=runbook_for))
