"""What a change does to an object, as a unified diff of its YAML, without the fields the apiserver
rewrites on every write (they would hide the one line that matters)."""

from __future__ import annotations

import difflib
from typing import Any

import yaml

NOISY_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")
MAX_DIFF_LINES = 60


def _clean(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    if not obj:
        return None
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in NOISY_METADATA}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _lines(obj: dict[str, Any] | None) -> list[str]:
    cleaned = _clean(obj)
    if cleaned is None:
        return []
    return yaml.safe_dump(cleaned, sort_keys=True, default_flow_style=False, width=120).splitlines()


def object_diff(name: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """`before` None: the object is created; `after` None: it is deleted. Cut at MAX_DIFF_LINES."""
    if before and after is None:
        return f"--- {name}\n+++ (deleted)"
    lines = list(
        difflib.unified_diff(
            _lines(before), _lines(after), fromfile=name if before else "(new)", tofile=name, lineterm="", n=2
        )
    )
    if not lines:
        return f"{name}: no change"
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... ({len(lines) - MAX_DIFF_LINES} more lines)"]
    return "\n".join(lines)
