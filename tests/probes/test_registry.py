from __future__ import annotations

from bot.probes import descriptions, registry


def test_catalog_lists_exactly_the_registered_probes() -> None:
    assert list(descriptions.PROBE_DESCRIPTIONS) == list(registry.PROBES)


def test_every_probe_has_a_title_and_a_human_command() -> None:
    for probe in registry.PROBES.values():
        assert probe.title and probe.commands, probe.id
