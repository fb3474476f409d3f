from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = ROOT / "runbooks"


@pytest.fixture
def runbooks_dir() -> Path:
    return RUNBOOKS


@pytest.fixture(scope="session")
def knowledge_settings():
    """The shipped runbooks and the project's index, built once if missing or stale."""
    from bot.config import KnowledgeSettings
    from bot.index.load import ensure_index

    settings = KnowledgeSettings()
    ensure_index(settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def matcher(knowledge_settings):
    from bot.index.load import open_matcher

    return open_matcher(knowledge_settings, rebuild=False)
