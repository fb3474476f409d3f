"""The apiserver's error answers: a `Status` object with the code, reason and message a real one sends."""

from __future__ import annotations

from typing import Any

from bot.sim.resources import ResourceType

NO_RESOURCE = "the server could not find the requested resource"


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def qualified(rtype: ResourceType) -> str:
    """`pods`, or `ipamblocks.crd.projectcalico.org`: how apiserver messages name a resource."""
    return f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural


def _details(rtype: ResourceType, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return details


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(
    user: str, verb: str, group: str, plural: str, name: str | None, namespace: str | None, sub: str
) -> ApiError:
    """RBAC's refusal, word for word as the apiserver phrases it."""
    qualified_name = f"{plural}.{group}" if group else plural
    who = f'{qualified_name} "{name}"' if name else qualified_name
    resource = f"{plural}/{sub}" if sub else plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = f'{who} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{group}" {scope}'
    details: dict[str, Any] = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = plural
    return ApiError(403, "Forbidden", message, details)


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(rtype)} "{name}" not found', _details(rtype, name))


def no_resource() -> ApiError:
    return ApiError(404, "NotFound", NO_RESOURCE, {})


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message, {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def conflict(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(rtype)} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        _details(rtype, name),
    )


def already_exists(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{qualified(rtype)} "{name}" already exists', _details(rtype, name))


def invalid(rtype: ResourceType, name: str, problem: str) -> ApiError:
    return ApiError(422, "Invalid", f'{rtype.kind} "{name}" is invalid: {problem}', _details(rtype, name))


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f'the body of the request was in an unknown format "{content_type}" - accepted media types include: '
        "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
        {},
    )


def expired() -> ApiError:
    return ApiError(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new "
        "list without the continue parameter.",
    )


class SimServeError(Exception):
    """The simulated cluster could not start serving (e.g. its port is taken); the message is one line,
    fit to show as is: `cannot listen on 127.0.0.1:8080: address already in use`."""
