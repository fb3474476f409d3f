"""Leader election through a Kubernetes Lease (coordination.k8s.io/v1), as client-go's leaderelection
does: hold the Lease by renewing it; take it over only when its holder has not renewed within its lease
duration; resourceVersion makes two candidates racing for it settle on one (the other gets 409).

This module writes one object and nothing else: the Lease it is constructed with (RBAC: get, create and
update on that resourceName only). It is not a remediation path."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.cluster.connect import api_client
from bot.cluster.reader import decode_json
from bot.cluster.transport import send
from bot.config import ClusterSettings
from bot.domain.errors import ClusterError, ConflictError, NotFoundError

log = logging.getLogger(__name__)
LEASE_ROLE = "Role cnibot-leader-election"


def _micro(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    try:
        return datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        try:
            return datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").timestamp()
        except ValueError:
            return 0.0


class LeaseElector:
    def __init__(
        self,
        api: Any,
        *,
        server: str,
        settings: ClusterSettings,
        namespace: str,
        name: str,
        identity: str,
        duration_seconds: int = 15,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api = api
        self._server = server
        self._settings = settings
        self.identity = identity
        self.duration = duration_seconds
        self.clock = clock
        self._collection = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self._path = f"{self._collection}/{name}"
        self._name, self._namespace = name, namespace
        self.leader = False
        self._previous_renewal: float | None = None
        self._last_error = ""  # said once, not every 5 s, until it changes or the Lease is held again

    def _send(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = send(self._api, method, path, settings=self._settings, server=self._server, role=LEASE_ROLE, body=body)
        return decode_json(data, request=f"{method} {path}", server=self._server)

    def _spec(self, now: float, acquired: float, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            "acquireTime": _micro(acquired),
            "renewTime": _micro(now),
            "leaseTransitions": transitions,
        }

    def try_lead(self) -> bool:
        """One round: create, renew or take over the Lease. True while this instance leads. A fault
        (apiserver down, RBAC) means not leading: better no report than two."""
        now = self.clock()
        try:
            current = self._get()
            if current is None:
                body = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self._name, "namespace": self._namespace},
                    "spec": self._spec(now, now, 0),
                }
                self._send("POST", self._collection, body)
                return self._became(True)
            spec = current.get("spec") or {}
            holder = str(spec.get("holderIdentity") or "")
            renewed = _epoch(spec.get("renewTime"))
            duration = float(spec.get("leaseDurationSeconds") or self.duration)
            if holder != self.identity and holder and now < renewed + duration:
                return self._became(False)
            if holder != self.identity:
                self._previous_renewal = renewed  # when the replica this one replaces was last alive
            transitions = int(spec.get("leaseTransitions") or 0) + (0 if holder == self.identity else 1)
            acquired = _epoch(spec.get("acquireTime")) if holder == self.identity else now
            body = {**current, "spec": self._spec(now, acquired, transitions)}
            self._send("PUT", self._path, body)  # metadata.resourceVersion: a racing candidate gets 409
            return self._became(True)
        except ConflictError:
            return self._became(False)
        except ClusterError as exc:
            if exc.message != self._last_error:
                log.warning("leader election: %s (this replica posts no report until it holds the Lease)", exc.message)
                self._last_error = exc.message
            return self._became(False)

    def previous_renewal(self) -> float | None:
        """When the holder this replica took the Lease from last renewed it (epoch seconds); None when
        this replica created the Lease. A report due before that was the previous holder's to post."""
        return self._previous_renewal

    def release(self) -> None:
        """On a clean stop: give the Lease up (holder emptied, as client-go's ReleaseOnCancel does), so
        another replica takes over at its next round instead of after the lease duration."""
        if not self.leader:
            return
        try:
            current = self._get()
            spec = (current or {}).get("spec") or {}
            if current is not None and spec.get("holderIdentity") == self.identity:
                now = self.clock()
                released = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _micro(now)}
                self._send("PUT", self._path, {**current, "spec": released})
        except ClusterError as exc:  # the lease runs out on its own
            log.warning("leader election: could not release the Lease: %s", exc.message)
        self._became(False)

    def _get(self) -> dict[str, Any] | None:
        try:
            return self._send("GET", self._path)
        except NotFoundError:
            return None

    def _became(self, leading: bool) -> bool:
        if leading:
            self._last_error = ""
        if leading != self.leader:
            log.info("leader election: %s %s the Lease %s", self.identity, "holds" if leading else "lost", self._path)
        self.leader = leading
        return leading


def open_elector(
    settings: ClusterSettings, *, namespace: str, name: str, identity: str, duration_seconds: int = 15
) -> LeaseElector:
    api, _ = api_client(settings)
    api.configuration.retries = 0
    return LeaseElector(
        api,
        server=str(api.configuration.host),
        settings=settings,
        namespace=namespace,
        name=name,
        identity=identity,
        duration_seconds=duration_seconds,
    )
