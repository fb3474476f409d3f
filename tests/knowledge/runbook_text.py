"""Builders of small, valid runbook files for loader and check tests."""

from __future__ import annotations

import textwrap

import yaml


def front_matter(rid: str, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": rid,
        "title": f"Title of {rid}",
        "severity": "high",
        "cni": ["calico"],
        "aliases": [f"alias {rid}"],
        "symptoms": ["Pods stay in ContainerCreating."],
        "signatures": [{"text": f"unique error of {rid}", "weight": 1.0, "source": "kubelet"}],
        "samples": [f"Warning FailedCreatePodSandBox unique error of {rid} on node-1"],
        "diagnosis": [{"probe": "cni.pods", "why": "See the CNI pods."}],
        "remediation": [{"step": "Restart it.", "mutating": True, "risk": "medium"}],
        "verify": ["Pods get IPs."],
        "risks": [{"level": "medium", "risk": "Brief outage.", "mitigation": "Do it in a window."}],
        "safety": ["Roll one node at a time."],
        "related": [],
    }
    data.update(overrides)
    return data


def runbook_text(rid: str, body: str = "## Overview\n\nWhat breaks.\n", **overrides: object) -> str:
    meta = yaml.safe_dump(front_matter(rid, **overrides), allow_unicode=True, sort_keys=False)
    return f"---\n{meta}---\n\n{textwrap.dedent(body)}"
