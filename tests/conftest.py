from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = ROOT / "runbooks"


@pytest.fixture
def runbooks_dir() -> Path:
    return RUNBOOKS
