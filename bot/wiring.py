"""The composition root: the one place that reads settings (once), builds the adapters (index, cluster,
simulated cluster) and hands them to the services. Front ends (CLI, console, and next Slack) get an
`App` from here and call its services; nothing else constructs a client."""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings, environment
from bot.domain.errors import CnibotError, SettingsError, UsageError
from bot.domain.match import MatchResult
from bot.domain.probe import ClusterInfo, ProbeReport
from bot.domain.runbook import Runbook
from bot.knowledge.classifier import ClassifierData
from bot.knowledge.fusion import Calibration, Training
from bot.knowledge.matcher import Matcher
from bot.knowledge.word_classifier import WordData
from bot.logs import configure_logging
from bot.probes.base import RunbookFor
from bot.services.answers import Answering
from bot.services.conversation import Conversation
from bot.services.probing import ClusterHandle, Probing, lazy_namer, signature_first_namer

if TYPE_CHECKING:
    from bot.cluster.lease import LeaseElector
    from bot.metrics import Metrics
    from bot.services.executor import Executor
    from bot.services.remediation import Remediation
    from bot.services.reports import ReportPoster, Reports, ReportTarget
    from bot.slack.app import SlackBot
    from bot.store.db import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClusterChoice:
    """Which cluster a command talks to, from its flags. The simulated cluster is used only when asked
    for: `sim` names a scenario, or `sim_if_no_kubeconfig` (`cnibot run`, i.e. `make run`) lets the
    local console fall back to it, saying so on its first line."""

    kubeconfig: str = ""
    context: str = ""
    sim: str = ""
    sim_if_no_kubeconfig: bool = False


def scenario_names() -> list[str]:
    from bot.sim.scenarios import SCENARIOS

    return list(SCENARIOS)


def check_scenario(name: str, *, setting: str = "--sim") -> str:
    names = scenario_names()
    if name not in names:
        raise UsageError(f"{setting}: no scenario {name!r}; choose one of {', '.join(names)}")
    return name


class App:
    """Everything a front end needs, built lazily: a `cnibot match` never loads the cluster client, and
    a `cnibot probe` loads the matcher only if a probe finds an error that signatures cannot name."""

    def __init__(self, settings: Settings, choice: ClusterChoice = ClusterChoice()) -> None:
        if choice.sim and (choice.kubeconfig or choice.context):
            raise UsageError("--sim runs against the simulated cluster; drop --kubeconfig/--context, or drop --sim")
        if choice.sim:
            check_scenario(choice.sim)
        if choice.sim_if_no_kubeconfig:
            check_scenario(settings.sim_scenario, setting="CNIBOT_SIM_SCENARIO")
        cluster = settings.cluster
        if choice.kubeconfig:
            cluster = replace(cluster, kubeconfig=choice.kubeconfig)
        if choice.context:
            cluster = replace(cluster, context=choice.context)
        self.settings = replace(settings, cluster=cluster)
        self.choice = choice
        self._probing_by_context: dict[str, Probing] = {}
        self._metrics: Metrics | None = None  # set by `serve` only: the CLI never imports prometheus_client

    @classmethod
    def from_environment(
        cls, choice: ClusterChoice = ClusterChoice(), *, interactive: bool = True, config: Path | None = None
    ) -> App:
        settings = Settings.from_env(environment(config))
        configure_logging(settings.log, interactive=interactive)
        return cls(settings, choice)

    # -- knowledge -------------------------------------------------------------------------------------

    @cached_property
    def runbooks(self) -> list[Runbook]:
        from bot.knowledge.loader import load_runbooks

        return load_runbooks(self.settings.knowledge.runbooks_dir)

    @cached_property
    def matcher(self) -> Matcher:
        from bot.index.load import open_matcher

        return open_matcher(self.settings.knowledge)

    def signal_calibrations(self) -> dict[str, Calibration]:
        from bot.index.files import IndexPaths, read_manifest

        manifest = read_manifest(IndexPaths(self.settings.knowledge.index_dir)) or {}
        stored = manifest.get("calibration") or {}
        return {
            name: Calibration.from_json(stored[name])
            for name in ("signatures", "lexical", "dense", "classifier", "words")
            if name in stored
        }

    def training(self) -> tuple[Training, dict[int, int], ClassifierData, WordData]:
        """The calibration's training rows, each real report's passage row and the two classifiers'
        training data, for `eval --cv`."""
        from bot.index.build import load_classifier, load_training, load_words
        from bot.index.files import IndexPaths, read_manifest

        paths = IndexPaths(self.settings.knowledge.index_dir)
        self.matcher  # noqa: B018 - the index is current (rebuilt if stale) before its files are read
        manifest = read_manifest(paths) or {}
        rows = {int(line): int(row) for line, row in (manifest.get("report_rows") or {}).items()}
        return load_training(paths.training), rows, load_classifier(paths.classifier)[1], load_words(paths.words)[1]

    def runbook_files(self) -> list[Path]:
        from bot.knowledge.loader import runbook_files

        return runbook_files(self.settings.knowledge.runbooks_dir)

    @cached_property
    def answering(self) -> Answering:
        return Answering(
            matcher=lambda: self.matcher,
            runbooks=lambda: self.runbooks,
            observe=self._observe_match,
        )

    def _observe_match(self, result: MatchResult, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.observe_match(result, seconds)

    def _observe_probes(self, report: ProbeReport, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.observe_probes(report, seconds)

    @cached_property
    def runbook_namer(self) -> RunbookFor:
        """Names runbooks for errors the probes read: signatures first (milliseconds, no model), the
        matcher only for what they leave open. The CLI, the console and Slack all use this one."""
        from bot.index.load import open_signatures

        signatures, runbook_ids = open_signatures(self.settings.knowledge)
        return signature_first_namer(signatures, runbook_ids, lazy_namer(lambda: self.matcher.match_many))

    # -- cluster ---------------------------------------------------------------------------------------

    def uses_simulated_cluster(self) -> str:
        """The scenario the probes will run against, or "" for a real cluster."""
        if self.choice.sim:
            return self.choice.sim
        if self.choice.sim_if_no_kubeconfig:
            from bot.cluster.connect import cluster_configured

            if not cluster_configured(self.settings.cluster):
                return self.settings.sim_scenario
        return ""

    def open_cluster(self) -> ClusterHandle:
        scenario = self.uses_simulated_cluster()
        if scenario:
            return self._open_simulated(scenario)
        return self._open_real()

    def _open_real(self, context: str = "") -> ClusterHandle:
        """The configured cluster, or another context of the same kubeconfig (replies name it)."""
        from bot.cluster.reader import connect

        reader = connect(replace(self.settings.cluster, context=context) if context else self.settings.cluster)
        where = f"{context} ({reader.server})" if context else reader.where
        return ClusterHandle(reader, ClusterInfo(where, reader.server), close=lambda: None)

    def _open_simulated(self, scenario: str) -> ClusterHandle:
        from bot.cluster.reader import connect
        from bot.sim.scenarios import build_scenario
        from bot.sim.server import SimCluster

        # two identities, as RBAC gives a real bot: the probes' token may only read; writes need the
        # remediator's, which only the executor is given (and only in scenarios that allow writes)
        sim = SimCluster(build_scenario(scenario), writer_token=f"sim-remediator-{secrets.token_hex(8)}").start()
        scratch = tempfile.TemporaryDirectory(prefix="cnibot-sim-")
        kubeconfig = sim.write_kubeconfig(Path(scratch.name) / "kubeconfig")
        reader = connect(replace(self.settings.cluster, kubeconfig=str(kubeconfig), context=""))
        info = ClusterInfo(
            f"SIMULATED cluster, scenario '{scenario}' (not a real cluster) at {sim.url}",
            reader.server,
            simulated=True,
            scenario=scenario,
        )
        log.debug("simulated cluster %s started at %s", scenario, sim.url)

        def close() -> None:
            sim.stop()
            scratch.cleanup()

        return ClusterHandle(reader, info, close=close, writer_kubeconfig=str(kubeconfig))

    @cached_property
    def probing(self) -> Probing:
        return self._probing(self.open_cluster)

    def _probing(self, open_cluster: Callable[[], ClusterHandle]) -> Probing:
        return Probing(
            open_cluster=open_cluster,
            runbooks=lambda: self.runbooks,
            namer=self.runbook_namer,
            deadline=self.settings.cluster.probe_deadline,
            observe=self._observe_probes,
        )

    @cached_property
    def conversation(self) -> Conversation:
        return Conversation(
            answering=self.answering,
            probing=self.probing,
            remediation=lambda: self.remediation,
            reports=self.reports,
        )

    # -- remediation --------------------------------------------------------------------------------

    def _executor(self) -> Executor:
        from bot.services.executor import cluster_executor

        if self.uses_simulated_cluster():
            from bot.sim.kubeconfig import REMEDIATOR_CONTEXT

            handle = self.probing.cluster()
            settings = replace(self.settings.cluster, kubeconfig=handle.writer_kubeconfig, context="")
            return cluster_executor(settings, context=REMEDIATOR_CONTEXT, impersonate="")
        r = self.settings.remediation
        return cluster_executor(self.settings.cluster, context=r.context, impersonate=r.impersonate)

    def remediation_off_reason(self) -> str:
        r = self.settings.remediation
        if not r.all_approvers:
            return "Remediation is off: no approvers are configured (CNIBOT_APPROVERS)."
        if not (self.uses_simulated_cluster() or r.context or r.impersonate):
            return (
                "Remediation is off: no write credentials are configured (CNIBOT_REMEDIATION_CONTEXT, or "
                "CNIBOT_REMEDIATION_IMPERSONATE in the cluster)."
            )
        return ""

    @cached_property
    def remediation(self) -> Remediation:
        from bot.remediation.policy import Policy
        from bot.services.remediation import Remediation

        r = self.settings.remediation
        executor: list[Executor] = []

        def open_executor() -> Executor:
            if not executor:
                executor.append(self._executor())
            return executor[0]

        return Remediation(
            policy=Policy(r.all_approvers, allow_self_approval=r.allow_self_approval, ttl_seconds=r.ttl_seconds),
            probing=self.probing,
            executor=open_executor,
            store=lambda: self.store,
            runbooks=lambda: self.runbooks,
            cluster_name=self.cluster_name,
            off_reason=self.remediation_off_reason(),
        )

    def remediation_for(self, channel: str) -> Remediation:
        """Remediation writes to the default cluster only; a channel mapped to another context can plan
        and probe there, but not change it."""
        if self._context_of(channel) and not self.choice.sim:
            from bot.domain.errors import UsageError

            raise UsageError(
                "remediation runs against the default cluster only; this channel maps to context "
                f"{self._context_of(channel)!r} (CNIBOT_CHANNEL_CLUSTERS)"
            )
        return self.remediation

    # -- the Slack bot and its store --------------------------------------------------------------

    @cached_property
    def store(self) -> Store:
        from bot.store.db import Store

        self.settings.store.path.parent.mkdir(parents=True, exist_ok=True)
        return Store(self.settings.store.path)

    def _context_of(self, channel: str) -> str:
        return dict(self.settings.slack.channel_clusters).get(channel, "")

    def probing_for(self, channel: str) -> Probing:
        """The probing service for a channel: its own cluster context when CNIBOT_CHANNEL_CLUSTERS maps
        it, else the default cluster. Each context's connection opens on first use and stays open."""
        context = self._context_of(channel)
        if not context or self.choice.sim:
            return self.probing
        return self._probing_of_context(context)

    def _probing_of_context(self, context: str) -> Probing:
        if context not in self._probing_by_context:
            self._probing_by_context[context] = self._probing(lambda: self._open_real(context))
        return self._probing_by_context[context]

    def cluster_for(self, channel: str) -> str:
        """The cluster name a reply in this channel shows."""
        context = self._context_of(channel)
        return context if context and not self.choice.sim else self.cluster_name()

    def cluster_name(self) -> str:
        if self.settings.slack.cluster_name:
            return self.settings.slack.cluster_name
        scenario = self.uses_simulated_cluster()
        if scenario:
            return f"SIMULATED cluster '{scenario}'"
        return self.probing.cluster().info.description

    def slack_bot(self, client: Any = None) -> SlackBot:
        """The bolt app with its listeners (`client`: a WebClient, for tests). Its construction calls
        Slack's auth.test: a wrong token fails here, at start, in one line."""
        from bot.slack.app import start_bot

        slack = self.settings.slack
        if not slack.bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set (the bot's xoxb- token)")
        if not (slack.signing_secret or slack.app_token):
            raise SettingsError("set SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)")
        return start_bot(
            settings=slack,
            answering=self.answering,
            probing=self.probing_for,
            store=self.store,
            cluster=self.cluster_for,
            client=client,
            remediation=self.remediation_for,
            actions_of=self.parameterless_actions(),
        )

    def parameterless_actions(self) -> dict[str, list[str]]:
        """Runbook id -> the catalogue actions a [Fix] button can propose without parameters."""
        from bot.remediation.catalog import ACTIONS

        found: dict[str, list[str]] = {}
        for action in ACTIONS.values():
            if "=" in action.parameters and not action.parameters.startswith("["):
                continue  # it needs a parameter (e.g. node=NAME): /cni fix takes it
            for runbook in action.runbooks:
                found.setdefault(runbook, []).append(action.id)
        return found

    # -- IPAM reports ---------------------------------------------------------------------------

    def report_targets(self) -> list[ReportTarget]:
        """The clusters reports cover: the default one, and each context CNIBOT_CHANNEL_CLUSTERS maps."""
        from bot.services.reports import ReportTarget

        targets = [ReportTarget(self.cluster_name(), self.probing)]
        if self.choice.sim:
            return targets
        default_server = self.probing.cluster().info.server
        for context in dict.fromkeys(context for _, context in self.settings.slack.channel_clusters):
            probing = self._probing_of_context(context)
            try:
                server = probing.cluster().info.server
            except CnibotError:
                server = ""  # a broken context still gets its report: one line saying why
            if server and server == default_server:
                continue  # the default cluster under its context's name: reported once
            targets.append(ReportTarget(context, probing))
        return targets

    def reports(self, poster: Callable[[], ReportPoster] | None = None) -> Reports:
        from functools import partial

        from bot.reporting.chart import render_chart
        from bot.services.reports import Reports

        def observed(cluster: str, data: dict[str, Any]) -> None:
            if self._metrics is not None:
                self._metrics.observe_ipam(cluster, data, at=time.time())

        def posted(cluster: str, at: float) -> None:
            if self._metrics is not None:
                self._metrics.observe_report(cluster, at)

        return Reports(
            targets=self.report_targets,
            store=lambda: self.store,
            settings=self.settings.reports,
            chart=partial(render_chart, timezone=self.settings.reports.timezone),
            poster=poster,
            on_snapshot=observed,
            on_posted=posted,
        )

    def report_poster(self, client: Any = None) -> ReportPoster:
        """Posts reports with `client` (the bot's WebClient), or a client of its own (`report ipam --post`)."""
        from bot.slack.app import web_client
        from bot.slack.reports import SlackReportPoster

        slack = self.settings.slack
        if client is None and not slack.bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set: --post needs the bot's xoxb- token")
        return SlackReportPoster(client or web_client(slack), timezone=self.settings.reports.timezone)

    def _elector(self) -> LeaseElector | None:
        """The Lease leader election, when CNIBOT_LEADER_ELECTION is on."""
        r = self.settings.reports
        if not r.leader_election:
            return None
        from bot.cluster.lease import open_elector

        cluster = self.settings.cluster
        if self.uses_simulated_cluster():
            cluster = replace(cluster, kubeconfig=self.probing.cluster().writer_kubeconfig, context="")
        return open_elector(cluster, namespace=r.lease_namespace, name=r.lease_name, identity=r.identity)

    def start_schedule(self, client: Any) -> Callable[[], None]:
        """The report schedule and alert checks beside the Slack listeners; returns how to stop them.
        Without CNIBOT_REPORT_CHANNEL there is nothing to post, so nothing runs."""
        from bot.scheduler.runner import ReportScheduler

        r = self.settings.reports
        if not r.channel:
            log.info("no CNIBOT_REPORT_CHANNEL: no scheduled IPAM report, no pool alerts")
            return lambda: None
        reports = self.reports(poster=lambda: self.report_poster(client))
        elector = self._elector()
        scheduler = ReportScheduler(
            report=reports.post_scheduled,
            schedule=r.schedule,
            timezone=r.timezone,
            grace_seconds=r.grace_seconds,
            alerts=reports.check_alerts,
            alert_interval=r.alert_interval,
            lead=elector.try_lead if elector else None,
            release=elector.release if elector else None,
            previous_renewal=elector.previous_renewal if elector else None,
        ).start()
        return scheduler.stop

    def serve(self, *, port: int, stop: threading.Event | None = None) -> int:
        """`cnibot serve`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on `port`; /healthz,
        /readyz and /metrics on `port` either way; the report schedule when a report channel is set.
        Runs until `stop` is set (or forever)."""
        from bot.metrics import Metrics
        from bot.scheduler.cron import cron_trigger
        from bot.slack.server import serve_bot

        cron_trigger(self.settings.reports.schedule, self.settings.reports.timezone)  # a bad one fails first
        metrics = self._metrics = Metrics()

        def make_bot() -> SlackBot:
            self.matcher  # noqa: B018 - the index is loaded (or rebuilt) before Slack can send anything
            return self.slack_bot()

        return serve_bot(
            make_bot,
            app_token=self.settings.slack.app_token,
            port=port,
            stop=stop,
            metrics=metrics.exposition,
            background=lambda bot: self.start_schedule(bot.app.client),
        )

    def close(self) -> None:
        if "probing" in self.__dict__:
            self.probing.close()
        for probing in self._probing_by_context.values():
            probing.close()


def serve_simulated(scenario: str, port: int, kubeconfig: Path) -> int:
    """`cnibot sim serve`: the simulated cluster in the foreground."""
    from bot.sim.cli import serve
    from bot.sim.errors import SimServeError

    check_scenario(scenario, setting="--scenario")
    try:
        return serve(scenario, port, kubeconfig)
    except SimServeError as exc:
        raise CnibotError(str(exc)) from exc
