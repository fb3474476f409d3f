"""Static checks of what cannot be run here: the Dockerfile (no Docker engine) and the RBAC manifest."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_installs_cpu_torch_first_and_builds_the_index_offline() -> None:
    steps = dockerfile_instructions()
    assert steps[0][0] == "FROM" and "python:3.11" in steps[0][1]
    runs = [rest for word, rest in steps if word == "RUN"]
    torch = next(i for i, r in enumerate(runs) if "torch==2.13.0" in r)
    package = next(i for i, r in enumerate(runs) if re.search(r"pip install \.(\s|$)", r))
    assert torch < package, "torch must be installed before the package pulls it in"
    assert "download.pytorch.org/whl/cpu" in runs[torch]
    assert "cnibot index build" in runs[package]
    env = " ".join(rest for word, rest in steps if word == "ENV")
    assert "HF_HUB_OFFLINE=1" in env and "CNIBOT_RUNBOOKS=/app/runbooks" in env and "CNIBOT_INDEX=/app/index" in env
    copied = " ".join(rest for word, rest in steps if word == "COPY")
    for needed in ("pyproject.toml", "bot", "runbooks"):
        assert needed in copied
    for source in (rest.split()[0] for word, rest in steps if word == "COPY"):
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repo"
    assert ("USER", "10001") in steps
    assert any(word == "ENTRYPOINT" and "cnibot" in rest for word, rest in steps)


def test_rbac_grants_only_reads_and_covers_every_resource_the_probes_read() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text(encoding="utf-8")))
    role = next(d for d in documents if d["kind"] == "ClusterRole")
    granted = set()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        for group in rule["apiGroups"]:
            granted |= {(group, resource) for resource in rule["resources"]}
    probe_sources = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot" / "probes").glob("*.py"))
    read = set(re.findall(r"/apis/([a-z.]+)/v\d\w*/(?:namespaces/\{[^}]+\}/)?([a-z]+)", probe_sources))
    read |= {("", r) for r in re.findall(r"/api/v1/(?:namespaces/\{[^}]+\}/)?([a-z]+)", probe_sources)}
    read |= {
        ("crd.projectcalico.org", p) for p in ("ippools", "ipamblocks", "felixconfigurations", "clusterinformations")
    }
    read |= {("", "pods/log"), ("cilium.io", "ciliumnodes"), ("operator.tigera.io", "installations")}
    missing = {(g, r) for g, r in read if (g, r) not in granted}
    assert missing == set()


def test_the_slack_app_manifest_matches_what_the_bot_listens_for() -> None:
    import yaml

    from bot.slack.app import FIND_RUNBOOK

    manifest = yaml.safe_load((ROOT / "deploy" / "slack-app-manifest.yaml").read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == ["/cni"]
    assert [s["callback_id"] for s in features["shortcuts"]] == [FIND_RUNBOOK]
    assert {"app_mention", "message.channels", "message.groups"} <= set(settings["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "channels:history", "groups:history", "chat:write", "commands"} <= scopes
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    for url in (settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]):
        assert url.endswith("/slack/events")
