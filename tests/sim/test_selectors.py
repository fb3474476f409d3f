"""Label and field selector parsing and matching."""

from __future__ import annotations

import pytest

from bot.sim.resources import POD_FIELDS
from bot.sim.selectors import SelectorError, parse_field_selector, parse_label_selector

LABELS = {"app": "web", "tier": "frontend", "release": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=api", False),
        ("app!=api", True),
        ("missing!=x", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("app in (web, api)", True),
        ("app in (api)", False),
        ("app notin (api,db)", True),
        ("missing notin (a)", True),
        ("app=web,tier=frontend", True),
        ("app=web,tier=backend", False),
        ("tier in (frontend,backend),app", True),
        ("release>2", True),
        ("release<3", False),
        ("example.com/role=x", False),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["app in (web", "a b", "app=we b", "app in ()", "=x", "release>x"])
def test_bad_label_selectors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(selector)


def test_field_selectors() -> None:
    fields = {"spec.nodeName": "node-1", "status.phase": "Running", "metadata.namespace": "shop"}
    selector = parse_field_selector("spec.nodeName=node-1,status.phase!=Pending", POD_FIELDS)
    assert selector.matches(fields) and selector.equalities() == {"spec.nodeName": "node-1"}
    assert not parse_field_selector("metadata.namespace==default", POD_FIELDS).matches(fields)
    assert parse_field_selector("status.podIP=", POD_FIELDS).matches(fields)  # missing field reads as ""
    with pytest.raises(SelectorError, match=r"field label not supported: spec\.bogus"):
        parse_field_selector("spec.bogus=1", POD_FIELDS)
    with pytest.raises(SelectorError):
        parse_field_selector("nonsense", POD_FIELDS)
