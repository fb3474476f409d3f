"""The one-line messages a user sees when the apiserver says no."""

from __future__ import annotations

import json

from bot.cluster.errors import from_status
from bot.domain.errors import ForbiddenError, NotFoundError, UnauthorizedError


def status_body(message: str, code: int) -> bytes:
    return json.dumps({"kind": "Status", "status": "Failure", "message": message, "code": code}).encode()


def test_403_names_verb_resource_and_the_shipped_rbac() -> None:
    body = status_body(
        'pods is forbidden: User "system:serviceaccount:cnibot:cnibot" cannot list resource "pods" in API group "" '
        "at the cluster scope",
        403,
    )
    error = from_status(403, body, request="GET /api/v1/pods?limit=1000", server="https://10.0.0.1:6443")
    assert isinstance(error, ForbiddenError)
    assert str(error) == (
        '403 Forbidden for GET /api/v1/pods?limit=1000: the credentials may not list pods (API group ""); '
        "deploy/rbac.yaml grants it in ClusterRole cnibot-reader "
        "(kubectl apply -f deploy/rbac.yaml, bind it to the identity cnibot uses)"
    )
    assert "\n" not in str(error)


def test_401_and_404() -> None:
    assert isinstance(from_status(401, b"", request="GET /api", server="s"), UnauthorizedError)
    not_found = from_status(
        404, status_body("the server could not find the requested resource", 404), request="GET /x", server="s"
    )
    assert isinstance(not_found, NotFoundError)
    assert str(not_found) == "404 Not Found for GET /x: the server could not find the requested resource"


def test_each_status_a_writer_or_retry_loop_needs_has_its_own_type() -> None:
    from bot.domain.errors import ConflictError, InvalidError, ServerError, TooManyRequestsError

    server, request = "https://10.0.0.1:6443", "PATCH /apis/apps/v1/namespaces/kube-system/daemonsets/calico-node"
    conflict = from_status(409, status_body("the object has been modified", 409), request=request, server=server)
    assert isinstance(conflict, ConflictError) and conflict.status == 409 and not conflict.retryable
    assert str(conflict) == f"409 Conflict for {request}: the object has been modified"
    invalid = from_status(422, status_body("spec.cidr: Invalid value", 422), request=request, server=server)
    assert isinstance(invalid, InvalidError) and invalid.status == 422
    throttled = from_status(429, b"", request=request, server=server, retry_after="3")
    assert isinstance(throttled, TooManyRequestsError) and throttled.retryable and throttled.retry_after == 3.0
    assert "retry after 3 s" in str(throttled)
    unavailable = from_status(503, b"<html>bad gateway</html>", request=request, server=server)
    assert isinstance(unavailable, ServerError) and unavailable.status == 503 and unavailable.retryable
