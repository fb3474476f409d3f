"""The remediation executor: the one module that may import the cluster writer (an import-linter
contract). It dry-runs plans for proposals and runs an approved plan, refusing one whose objects
changed since it was made. It is handed a plan only after the policy's gate let it through
(bot.services.remediation); it does not decide who may run what."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.config import ClusterSettings
from bot.domain.errors import ClusterError, ConflictError, ForbiddenError, InvalidError, NotFoundError
from bot.remediation.diff import object_diff
from bot.remediation.plan import ApiRequest, Plan

log = logging.getLogger(__name__)
# answers about one request (the others may still pass); anything else stops the dry run
REFUSALS = (ConflictError, ForbiddenError, InvalidError, NotFoundError)


class Writer(Protocol):
    def get_optional(self, path: str) -> dict[str, Any] | None: ...

    def send(self, request: ApiRequest, *, dry_run: bool) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StepResult:
    request: ApiRequest
    ok: bool
    message: str
    diff: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"request": self.request.describe(), "ok": self.ok, "message": self.message, "diff": self.diff}


@dataclass(frozen=True)
class Execution:
    ok: bool
    message: str
    steps: tuple[StepResult, ...] = ()
    stale: bool = False  # refused because the cluster changed since the plan: a fresh plan is needed

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "stale": self.stale, "steps": [s.to_json() for s in self.steps]}


def _rv(obj: dict[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def _after(request: ApiRequest, answer: dict[str, Any]) -> dict[str, Any] | None:
    if request.method == "DELETE" and answer.get("kind") in ("Status", None):
        return None
    if request.method == "DELETE" and (answer.get("metadata") or {}).get("deletionTimestamp"):
        return None  # a pod answers with itself, marked for deletion: it is going away
    return answer


class Executor:
    def __init__(self, open_writer: Callable[[], Writer]) -> None:
        self._open_writer = open_writer
        self._writer: Writer | None = None

    def _w(self) -> Writer:
        if self._writer is None:
            self._writer = self._open_writer()
        return self._writer

    def dry_run(self, plan: Plan) -> tuple[StepResult, ...]:
        """Every request sent with dryRun=All, and the object before and after it, as a diff."""
        writer = self._w()
        steps: list[StepResult] = []
        for n, request in enumerate(plan.requests):
            try:
                before = writer.get_optional(request.object_path) if request.method != "POST" else None
                after = _after(request, writer.send(request, dry_run=True))
            except ClusterError as exc:
                steps.append(StepResult(request, False, f"dry run refused: {exc.message}"))
                if not isinstance(exc, REFUSALS):
                    # the apiserver is down, silent or failing: asking again per request only adds waiting
                    rest = plan.requests[n + 1 :]
                    steps += [StepResult(r, False, "not tried: the dry run before it failed") for r in rest]
                    break
                continue
            steps.append(StepResult(request, True, "accepted", object_diff(request.object_path, before, after)))
        return tuple(steps)

    def _changed_since_plan(self, plan: Plan) -> str:
        writer = self._w()
        for request in plan.requests:
            if not request.resource_version:
                if request.method == "POST" and writer.get_optional(request.object_path) is not None:
                    return f"{request.object_path} exists now"
                continue
            current = writer.get_optional(request.object_path)
            if current is None:
                return f"{request.object_path} is gone"
            if _rv(current) != request.resource_version:
                return f"{request.object_path} changed (resourceVersion {request.resource_version} -> {_rv(current)})"
        by_namespace: dict[str, set[str]] = {}
        for key in plan.absent_pods:
            namespace, _, name = key.partition("/")
            by_namespace.setdefault(namespace, set()).add(name)
        for namespace, names in sorted(by_namespace.items()):
            listing = writer.get_optional(f"/api/v1/namespaces/{namespace}/pods") or {}
            back = names & {str((p.get("metadata") or {}).get("name")) for p in listing.get("items") or []}
            if back:
                return f"pod {namespace}/{sorted(back)[0]} exists again, so its address is no longer leaked"
        return ""

    def execute(self, plan: Plan) -> Execution:
        """Re-check, then for each request its dry run and the write. Stops at the first failure."""
        try:
            changed = self._changed_since_plan(plan)
        except ClusterError as exc:
            return Execution(False, f"could not re-check the objects before running: {exc.message}")
        if changed:
            return Execution(
                False, f"Refused: {changed} since the plan; nothing was changed. Make a fresh plan.", stale=True
            )
        writer = self._w()
        steps: list[StepResult] = []
        for n, request in enumerate(plan.requests, 1):
            try:
                writer.send(request, dry_run=True)
                writer.send(request, dry_run=False)
            except ClusterError as exc:
                steps.append(StepResult(request, False, exc.message))
                done = f"{n - 1} of {len(plan.requests)} request(s) applied before it" if n > 1 else "nothing applied"
                return Execution(False, f"Failed at {request.describe()}: {exc.message} ({done})", tuple(steps))
            steps.append(StepResult(request, True, "applied"))
            log.info("remediation %s: %s applied", plan.action, request.describe())
        return Execution(True, f"Done: {len(steps)} request(s) applied.", tuple(steps))


def cluster_executor(settings: ClusterSettings, *, context: str, impersonate: str) -> Executor:
    """The executor over the real writer, opened on first use with the remediation credentials."""

    def open_writer() -> Writer:
        from bot.cluster.writer import WriterCredentials
        from bot.cluster.writer import open_writer as open_cluster_writer

        return open_cluster_writer(settings, WriterCredentials(context=context, impersonate=impersonate))

    return Executor(open_writer)
