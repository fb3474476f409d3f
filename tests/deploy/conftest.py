"""The remediation tests' rig (a simulated cluster with an App pointed at it), reused to run each action."""

from tests.remediation.conftest import rig  # noqa: F401
