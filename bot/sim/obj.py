"""Types shared across the simulated cluster; this module imports nothing from bot.sim, so any module can use it."""

from __future__ import annotations

from typing import Any

# A Kubernetes object as decoded JSON (what the apiserver stores and serves).
Obj = dict[str, Any]
