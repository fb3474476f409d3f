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
