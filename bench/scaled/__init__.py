"""The generated large scenario the probe benchmark serves (bench/probe_scale.py): thousands of nodes and
hundreds of thousands of pods, every object built on demand. It plugs into bot.sim through the Collection
interface (bot.sim.store) and needs nothing else from it; bot.sim never imports this package.

Modules: layout (the arithmetic), pods and ipam (generated collections), stencil (fast JSON for them),
chain (collections listed one after another) and scenario (scaled_scenario itself)."""

from __future__ import annotations

from bench.scaled.scenario import scaled_scenario

__all__ = ["scaled_scenario"]
