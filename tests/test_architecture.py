"""The import-linter contracts in .importlinter hold (make test runs lint-imports) and would catch a
forbidden import: each is broken on purpose in a copy of the package."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
# where each contract is broken on purpose: (module written into the copy, the import it makes)
VIOLATIONS = {
    "layers": ("bot/domain/_breaks_layers.py", "import bot.services.answers"),
    "sim-only-from-wiring": ("bot/services/_breaks_sim.py", "import bot.sim.server"),
    "sim-stands-alone": ("bot/sim/_breaks_alone.py", "import bot.domain.errors"),
    "kubernetes-only-in-cluster": ("bot/probes/_breaks_kubernetes.py", "import kubernetes"),
    "models-only-in-index": ("bot/knowledge/_breaks_models.py", "import faiss"),
    "domain-pure": ("bot/domain/_breaks_purity.py", "import orjson"),
    "slack-only-in-adapter": ("bot/services/_breaks_slack.py", "import slack_sdk"),
    "sqlite-utils-only-in-store": ("bot/index/_breaks_store.py", "import sqlite_utils"),
    "apscheduler-only-in-scheduler": ("bot/probes/_breaks_scheduler.py", "import apscheduler"),
    "writer-only-from-executor": ("bot/services/plans.py", "import bot.cluster.writer"),
    "prometheus-only-in-metrics": ("bot/slack/_breaks_metrics.py", "import prometheus_client"),
}
# packages that are the legitimate home of an outside library, so they stay out of that contract's sources
HOMES = {"bot.slack", "bot.store", "bot.scheduler", "bot.metrics"}


def contracts() -> dict[str, configparser.SectionProxy]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    prefix = "importlinter:contract:"
    return {name[len(prefix) :]: config[name] for name in config.sections() if name.startswith(prefix)}


def top_level_modules() -> set[str]:
    names = {f"bot.{p.name}" for p in (ROOT / "bot").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {f"bot.{p.stem}" for p in (ROOT / "bot").glob("*.py") if p.stem not in ("__init__", "__main__")}
    return names


def test_every_contract_has_a_violation_that_it_catches(tmp_path: Path) -> None:
    assert set(VIOLATIONS) == set(contracts())
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    for path, statement in VIOLATIONS.values():
        target = tmp_path / path
        before = target.read_text(encoding="utf-8") if target.exists() else ""
        target.write_text(f"{before}\n{statement}  # a forbidden import, on purpose\n", encoding="utf-8")
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(LINT_IMPORTS.parent)},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = "".join(done.stdout.split())  # the report wraps long names at 80 columns
    for cid, section in contracts().items():
        name = "".join(section["name"].split())
        assert f"{name}BROKEN" in report, f"contract {cid} did not catch {VIOLATIONS[cid][1]}"


def test_every_module_of_the_package_sits_in_a_layer_or_is_the_test_double() -> None:
    layered = {
        part.strip() for line in contracts()["layers"]["layers"].split("\n") for part in line.split("|") if part.strip()
    }
    assert top_level_modules() - layered - {"bot.sim"} == set()


def test_library_contracts_cover_every_package_but_the_library_home() -> None:
    everything = top_level_modules()
    for cid in ("kubernetes-only-in-cluster", "models-only-in-index"):
        sources = set(contracts()[cid]["source_modules"].split())
        home = {
            "kubernetes-only-in-cluster": {"bot.cluster", "bot.sim"},
            "models-only-in-index": {"bot.index", "bot.sim"},
        }
        assert everything - sources - home[cid] == set(), cid
    for cid in (
        "slack-only-in-adapter",
        "sqlite-utils-only-in-store",
        "apscheduler-only-in-scheduler",
        "prometheus-only-in-metrics",
    ):
        sources = set(contracts()[cid]["source_modules"].split())
        assert everything - sources - HOMES == set(), cid


def test_only_the_executor_may_import_the_cluster_writer_and_every_other_module_is_watched() -> None:
    """The writer contract lists modules one by one inside bot.services and bot.cluster (the executor and
    the writer are the exceptions), so a new module there must be added to it: this test says so."""
    sources = set(contracts()["writer-only-from-executor"]["source_modules"].split())
    allowed = {"bot.services.executor", "bot.cluster.writer"}
    for package in ("services", "cluster"):
        modules = {f"bot.{package}.{p.stem}" for p in (ROOT / "bot" / package).glob("*.py") if p.stem != "__init__"}
        assert modules - sources - allowed == set(), package
    assert top_level_modules() - {"bot.services", "bot.cluster"} - sources == set()
