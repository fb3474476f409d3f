from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.errors import RunbookError
from bot.knowledge.loader import load_runbooks, parse_runbook, read_runbooks
from tests.knowledge.runbook_text import runbook_text


def test_parses_every_field_into_typed_values() -> None:
    text = runbook_text(
        "ipam-exhausted",
        body="## Overview\n\nPools run dry.\n\n## Case study\n\n65534 of 65536 in use.\n",
        signatures=[
            {"text": "no IPs available in block", "weight": 1.0, "source": "calico-ipam"},
            {"regex": r"failed to allocate (?:an? )?IP", "weight": 0.8},
        ],
        samples=["no IPs available in block", "failed to allocate IP address"],
        diagnosis=[
            {"probe": "ipam.usage", "why": "usage"},
            {"command": "calicoctl ipam show --show-blocks", "where": "admin workstation", "why": "blocks"},
        ],
    )
    rb, problems = parse_runbook(text, "runbooks/ipam-exhausted.md")
    assert problems == []
    assert rb is not None
    assert rb.id == "ipam-exhausted"
    assert rb.signatures[0].pattern == "no IPs available in block"
    assert rb.signatures[0].is_regex is False
    assert rb.signatures[1].is_regex is True
    assert rb.signatures[1].weight == 0.8
    assert rb.diagnosis[1].command == "calicoctl ipam show --show-blocks"
    assert rb.diagnosis[1].where == "admin workstation"
    assert rb.remediation[0].mutating is True
    assert rb.probe_ids == ("ipam.usage",)
    assert rb.section("case study") == "65534 of 65536 in use."
    assert [name for name, _ in rb.sections] == ["Overview", "Case study"]


def test_missing_front_matter_is_one_clear_problem() -> None:
    rb, problems = parse_runbook("# just markdown\n", "runbooks/x.md")
    assert rb is None
    assert [str(p) for p in problems] == [
        "runbooks/x.md: has no YAML front matter (a file must start with a line `---`, then YAML, then `---`)"
    ]


def test_invalid_yaml_names_the_line() -> None:
    rb, problems = parse_runbook("---\nid: x\ntitle: [unclosed\n---\nbody", "runbooks/x.md")
    assert rb is None
    assert len(problems) == 1
    assert "front matter: is not valid YAML at line" in str(problems[0])


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"title": None}, "runbooks/a-b.md: title: is missing"),
        (
            {"severity": "urgent"},
            "runbooks/a-b.md: severity: is 'urgent'; expected one of critical, high, medium, low",
        ),
        (
            {"cni": ["weave"]},
            "runbooks/a-b.md: cni[0]: is 'weave'; expected one of calico, flannel, cilium, any",
        ),
        (
            {"signatures": [{"regex": "fail(", "weight": 1}]},
            "runbooks/a-b.md: signatures[0].regex: does not compile",
        ),
        (
            {"signatures": [{"text": "x", "weight": 2}]},
            "runbooks/a-b.md: signatures[0].weight: must be a number",
        ),
        (
            {"signatures": [{"text": "x", "regex": "y", "weight": 1}]},
            "needs exactly one of `text` or `regex`",
        ),
        (
            {"diagnosis": [{"why": "w"}]},
            "runbooks/a-b.md: diagnosis[0]: needs exactly one of `probe` or `command`",
        ),
        ({"diagnosis": [{"command": "ip r", "why": "w", "where": "moon"}]}, "diagnosis[0].where: is 'moon'"),
        ({"remediation": [{"step": "s", "risk": "low"}]}, "remediation[0].mutating: must be true or false"),
        ({"risks": [{"level": "extreme", "risk": "r", "mitigation": "m"}]}, "risks[0].level: is 'extreme'"),
        ({"samples": []}, "runbooks/a-b.md: samples: is missing or empty"),
        ({"id": "other"}, "runbooks/a-b.md: id: 'other' differs from the file name 'a-b'"),
    ],
)
def test_each_bad_field_is_named(overrides: dict[str, object], expected: str) -> None:
    _, problems = parse_runbook(runbook_text("a-b", **overrides), "runbooks/a-b.md")
    assert any(expected in str(p) for p in problems), [str(p) for p in problems]


def test_body_needs_an_overview() -> None:
    _, problems = parse_runbook(runbook_text("a-b", body="## Notes\n\nx\n"), "runbooks/a-b.md")
    assert [str(p) for p in problems] == ["runbooks/a-b.md: body: has no `## Overview` section"]


def test_load_runbooks_raises_on_the_first_problem(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text(runbook_text("good"), encoding="utf-8")
    (tmp_path / "bad.md").write_text(runbook_text("bad", severity="huge"), encoding="utf-8")
    (tmp_path / "README.md").write_text("# not a runbook\n", encoding="utf-8")
    with pytest.raises(RunbookError, match=r"bad\.md: severity"):
        load_runbooks(tmp_path)
    runbooks, problems = read_runbooks(tmp_path)
    assert sorted(rb.id for rb in runbooks) == ["bad", "good"]
    assert len(problems) == 1


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "bin.md").write_bytes(b"---\nid: \xff\xfe\n---\n")
    _, problems = read_runbooks(tmp_path)
    assert "cannot be read" in str(problems[0])
