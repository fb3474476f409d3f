from __future__ import annotations

from pathlib import Path

from bot.knowledge.checks import REQUIRED_IDS, check_directory, check_runbooks
from bot.knowledge.loader import parse_runbook
from bot.probes.descriptions import PROBE_DESCRIPTIONS
from tests.knowledge.runbook_text import runbook_text


def _parse(rid: str, **overrides: object):
    rb, problems = parse_runbook(runbook_text(rid, **overrides), f"runbooks/{rid}.md")
    assert problems == [] and rb is not None
    return rb


def _messages(runbooks, **kw) -> list[str]:
    return [str(p) for p in check_runbooks(runbooks, probe_ids=PROBE_DESCRIPTIONS, required_ids=(), **kw)]


def test_clean_set_has_no_problems() -> None:
    assert _messages([_parse("a"), _parse("b", related=["a"])]) == []


def test_signature_that_matches_no_own_sample() -> None:
    rb = _parse("a", signatures=[{"text": "unique error of a", "weight": 1}, {"text": "never seen", "weight": 0.5}])
    assert _messages([rb]) == ["runbooks/a.md: signatures[1]: 'never seen' matches none of this runbook's samples"]


def test_sample_that_matches_another_runbook_more_strongly() -> None:
    a = _parse("a", signatures=[{"text": "unique error of a", "weight": 0.4}])
    b = _parse(
        "b",
        signatures=[
            {"text": "unique error of b", "weight": 1.0},
            {"text": "FailedCreatePodSandBox", "weight": 0.9},
        ],
        samples=["unique error of b", "Warning FailedCreatePodSandBox"],
    )
    messages = _messages([a, b])
    assert messages == [
        "runbooks/a.md: samples[0]: matches 'b' signature 'FailedCreatePodSandBox' (weight 0.9) "
        "more strongly than its own best (weight 0.4)"
    ]


def test_duplicate_ids_unknown_probe_and_dangling_related() -> None:
    a1 = _parse("a")
    a2 = _parse("a", samples=["another unique error of a"])
    b = _parse("b", diagnosis=[{"probe": "nosuch.probe", "why": "w"}], related=["zzz"])
    messages = _messages([a1, a2, b])
    assert "runbooks/a.md: id: 'a' is used by 2 runbooks" in messages
    assert any(m.startswith("runbooks/b.md: diagnosis[0].probe: unknown probe id 'nosuch.probe'") for m in messages)
    assert "runbooks/b.md: related[0]: no runbook has id 'zzz'" in messages


def test_required_ids_and_case_study_sections() -> None:
    rb = _parse("mtu-mismatch")
    messages = [str(p) for p in check_runbooks([rb], probe_ids=PROBE_DESCRIPTIONS, required_ids=("mtu-mismatch", "x"))]
    assert "runbooks: required runbook 'x' is missing" in messages
    assert "runbooks/mtu-mismatch.md: body: needs a `## Case study` section" in messages


def test_shipped_runbooks_pass_every_check(runbooks_dir: Path) -> None:
    problems = check_directory(runbooks_dir, probe_ids=PROBE_DESCRIPTIONS)
    assert [str(p) for p in problems] == []


def test_shipped_runbooks_cover_the_required_ids(runbooks_dir: Path) -> None:
    shipped = {p.stem for p in runbooks_dir.glob("*.md")} - {"README"}
    assert set(REQUIRED_IDS) <= shipped


def test_an_unknown_remediation_action_is_named() -> None:
    from bot.remediation.catalog import ACTIONS

    rb = _parse("a", remediation=[{"step": "s", "mutating": True, "risk": "low", "action": "reboot-everything"}])
    messages = [str(p) for p in check_runbooks([rb], probe_ids=PROBE_DESCRIPTIONS, required_ids=(), action_ids=ACTIONS)]
    assert any("remediation[0].action: unknown action 'reboot-everything'" in m for m in messages), messages
    ok = _parse("b", remediation=[{"step": "s", "mutating": True, "risk": "low", "action": "restart-cni"}])
    assert not [
        p
        for p in check_runbooks([ok], probe_ids=PROBE_DESCRIPTIONS, required_ids=(), action_ids=ACTIONS)
        if "action" in str(p)
    ]
