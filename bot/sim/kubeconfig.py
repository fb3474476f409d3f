"""The kubeconfig that points a client at the simulated cluster (YAML written by hand: JSON strings are
valid YAML scalars, so values are quoted with json.dumps)."""

from __future__ import annotations

import json


def kubeconfig_text(server: str, token: str, context: str) -> str:
    q = json.dumps
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: {q(context)}\n"
        "  cluster:\n"
        f"    server: {q(server)}\n"
        "users:\n"
        f"- name: {q(context)}\n"
        "  user:\n"
        f"    token: {q(token)}\n"
        "contexts:\n"
        f"- name: {q(context)}\n"
        "  context:\n"
        f"    cluster: {q(context)}\n"
        f"    user: {q(context)}\n"
        "    namespace: default\n"
        f"current-context: {q(context)}\n"
        "preferences: {}\n"
    )
