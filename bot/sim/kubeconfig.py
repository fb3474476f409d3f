"""The kubeconfig that points a client at the simulated cluster (YAML written by hand: JSON strings are
valid YAML scalars, so values are quoted with json.dumps)."""

from __future__ import annotations

import json

REMEDIATOR_CONTEXT = "cnibot-sim-remediator"  # the context holding the writer token, when there is one


def kubeconfig_text(server: str, token: str, context: str, extra: dict[str, str] | None = None) -> str:
    """`context` is current; `extra` adds more contexts (name -> token) on the same server."""
    q = json.dumps
    tokens = {context: token, **(extra or {})}
    clusters = f"- name: {q(context)}\n  cluster:\n    server: {q(server)}\n"
    users = "".join(f"- name: {q(name)}\n  user:\n    token: {q(value)}\n" for name, value in tokens.items())
    contexts = "".join(
        f"- name: {q(name)}\n  context:\n    cluster: {q(context)}\n    user: {q(name)}\n    namespace: default\n"
        for name in tokens
    )
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n{clusters}users:\n{users}contexts:\n{contexts}"
        f"current-context: {q(context)}\npreferences: {{}}\n"
    )
