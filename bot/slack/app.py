"""The bolt app: listeners that acknowledge at once, call the services, and post Block Kit replies in
the thread of the message they answer."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import SlackSettings
from bot.domain.errors import CnibotError, UsageError
from bot.domain.probe import ProbeReport
from bot.knowledge.normalize import normalize
from bot.knowledge.paste import clean_text
from bot.knowledge.redact import redact
from bot.services.answers import Answer, Answering
from bot.services.conversation import is_command_attempt
from bot.services.probing import Probing
from bot.services.remediation import ProposalView, Remediation
from bot.services.remediation_text import plan_text
from bot.slack import blocks
from bot.store.db import Store, StoreError

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+>")
FIND_RUNBOOK = "cnibot_find_runbook"  # the message shortcut's callback id (deploy/slack-app-manifest.yaml)
REPEAT_WINDOW_SECONDS = 30 * 60
# bolt's own log: errors only (it warns at start that a token in the environment is unused, which it is:
# the WebClient carries it)
BOLT_LOG = logging.getLogger("bot.slack.bolt")
BOLT_LOG.setLevel(logging.ERROR)


def web_client(settings: SlackSettings) -> WebClient:
    """The Web API client, retrying on 429 as Slack asks (Retry-After), at most three times."""
    client = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


class SlackBot:
    """Holds the services the listeners need; `app` is the bolt App."""

    def __init__(
        self,
        *,
        settings: SlackSettings,
        answering: Answering,
        probing: Callable[[str], Probing],
        store: Store,
        cluster: Callable[[str], str],
        client: WebClient | None = None,
        remediation: Callable[[str], Remediation] | None = None,
        actions_of: dict[str, list[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.remediation = remediation
        self.actions_of = actions_of or {}
        self.answering = answering
        self.probing = probing
        self.store = store
        self.cluster = cluster
        self.app = App(
            logger=BOLT_LOG,
            signing_secret=settings.signing_secret,
            client=client or web_client(settings),
            process_before_response=False,
        )
        self.app.event("message")(self.on_message)
        self.app.event("app_mention")(self.on_mention)
        self.app.command("/cni")(self.on_command)
        self.app.action(blocks.RUN_PROBES)(self.on_run_probes)
        self.app.action(blocks.SHOW_RUNBOOK)(self.on_show_runbook)
        self.app.action(blocks.NOT_THIS_ONE)(self.on_not_this_one)
        self.app.action(blocks.PICK_RUNBOOK)(self.on_pick_runbook)
        self.app.shortcut(FIND_RUNBOOK)(self.on_find_runbook)
        self.app.action(blocks.PROPOSE)(self.on_propose)
        self.app.action(blocks.APPROVE)(self.on_approve)
        self.app.action(blocks.REJECT)(self.on_reject)

    # -- pastes ------------------------------------------------------------------------------------

    def on_message(self, event: dict[str, Any], body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("subtype") is not None or event.get("bot_id"):
            return  # edits, joins, bot messages (ours included) and every other subtype
        channel = str(event.get("channel") or "")
        if self.settings.channels and channel not in self.settings.channels:
            return
        text = str(event.get("text") or "")
        if context.bot_user_id and f"<@{context.bot_user_id}>" in text:
            return  # a mention: on_mention answers it, always
        if is_command_attempt(text):
            return  # a command meant for the bot but not addressed to it; as a paste `probe ipam` read as a crash loop
        self._answer(event, body, client, always=False)

    def on_mention(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        text = MENTION.sub("", str(event.get("text") or "")).strip()
        words = text.split()
        if words[:1] == ["probe"] and is_command_attempt(text):
            reply, fallback = self._probe_reply(words, user=str(event.get("user") or ""), event=event)
            self._post(client, event, reply, fallback)
            return
        if words[:1] == ["fix"]:
            channel = str(event.get("channel") or "")
            thread = str(event.get("thread_ts") or event.get("ts") or "")
            self._propose(client, words[1:], user=str(event.get("user") or ""), channel=channel, thread=thread)
            return
        self._answer(event, body, client, always=True)

    def _answer(self, event: dict[str, Any], body: dict[str, Any], client: WebClient, *, always: bool) -> None:
        # cleaned here, not only inside answer(): the store and the fingerprint take this text too
        text = clean_text(MENTION.sub("", str(event.get("text") or "")).strip())
        try:
            answer = self.answering.answer(text)
        except UsageError as exc:
            if always:
                self._post(client, event, [blocks.section(str(exc))], str(exc))
            return
        if not answer.result.confident and not always:
            return  # not confident: silent unless asked
        answer_id = self._record(answer, text, event, body)
        if answer_id is None:
            return  # this event was answered before (a Slack retry, or another replica)
        earlier = self._earlier_thread(answer, event, answer_id, text)
        if earlier is not None:
            self._post(client, event, [blocks.section(earlier)], earlier)
            return
        reply, fallback = blocks.answer_blocks(
            answer, cluster=self.cluster(str(event.get("channel") or "")), answer_id=answer_id
        )
        self._post(client, event, reply, fallback)

    def _earlier_thread(self, answer: Answer, event: dict[str, Any], answer_id: int, text: str) -> str | None:
        """The same error pasted again in the same channel within 30 minutes: one line pointing at the
        thread that already answered it, instead of a second full answer."""
        if not answer_id or not answer.result.confident:
            return None
        try:
            earlier = self.store.recent_answer(
                channel=str(event.get("channel") or ""),
                fingerprint=fingerprint(text),
                within=REPEAT_WINDOW_SECONDS,
                before_id=answer_id,
            )
        except StoreError:
            return None
        if earlier is None:
            return None
        minutes = max(1, round((time.time() - float(earlier["at"])) / 60))
        try:
            link = self.app.client.chat_getPermalink(channel=earlier["channel"], message_ts=earlier["thread_ts"])
            where = f"<{link['permalink']}|this thread>"
        except Exception:  # a link is a courtesy; the pointer still helps without it
            where = "an earlier thread in this channel"
        return f"Same error as {where} ({minutes} min ago): `{earlier['runbook']}`."

    def _record(self, answer: Answer, text: str, event: dict[str, Any], body: dict[str, Any]) -> int | None:
        """The answer's row id; None when this event was recorded before; 0 when the store failed."""
        best = answer.result.best
        try:
            stored = self.store.record_answer(
                event_id=str(body.get("event_id") or event.get("client_msg_id") or event.get("ts")),
                channel=str(event.get("channel") or ""),
                thread_ts=str(event.get("thread_ts") or event.get("ts") or ""),
                user=str(event.get("user") or ""),
                cluster=self.cluster(str(event.get("channel") or "")),
                text=redact(text),
                confident=answer.result.confident,
                runbook=best.runbook if best else "",
                score=best.score if best else 0.0,
                matches=[{"runbook": m.runbook, "score": round(m.score, 4)} for m in answer.result.matches],
                fingerprint=fingerprint(text),
            )
        except StoreError as exc:
            log.error("not recorded: %s", exc)  # the reply still goes out; the audit log misses it
            return 0
        return stored

    def _post(self, client: WebClient, event: dict[str, Any], reply: list[blocks.Block], fallback: str) -> None:
        thread = event.get("thread_ts") or event.get("ts")
        client.chat_postMessage(channel=event["channel"], thread_ts=thread, blocks=reply, text=fallback)

    # -- probes ------------------------------------------------------------------------------------

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()  # within Slack's 3 seconds; the work below runs after the acknowledgement
        text = str(command.get("text") or "").strip()
        words = text.split()
        if words[:1] == ["fix"]:
            respond(text="Planning and dry-running… (the proposal follows in the channel)", response_type="ephemeral")
            error = self._propose(
                self.app.client,
                words[1:],
                user=str(command.get("user_id") or ""),
                channel=str(command.get("channel_id") or ""),
                thread="",
            )
            if error:
                respond(text=error, response_type="ephemeral")
            return
        if words[:1] == ["probe"]:
            respond(text="Running read-only probes… (results follow here)", response_type="ephemeral")
            channel = str(command.get("channel_id") or "")
            reply, fallback = self._probe_reply(
                words, user=str(command.get("user_id") or ""), event={"channel": channel}
            )
            respond(blocks=reply, text=fallback, response_type="in_channel")
            return
        try:
            answer = self.answering.answer(text)
        except UsageError as exc:
            respond(text=str(exc))
            return
        reply, fallback = blocks.answer_blocks(answer, cluster=self.cluster(str(command.get("channel_id") or "")))
        respond(blocks=reply, text=fallback, response_type="in_channel")

    def _run_probes(
        self, target: str, runbook: str | None, *, user: str, channel: str, thread: str
    ) -> tuple[list[blocks.Block], str, ProbeReport | None]:
        """Run the probes a request names against the channel's cluster, record the run, and render it;
        a request or cluster that fails is one line."""
        try:
            probing = self.probing(channel)
            report = probing.run(probing.ids_for(target, runbook))
        except CnibotError as exc:
            return [blocks.section(f":x: {exc}")], str(exc), None
        self._record_probes(user, channel, thread, report)
        reply, fallback = blocks.probe_blocks(report)
        if self.remediation is not None:
            reply = (reply + blocks.propose_buttons(report, self.actions_of))[:50]
        return reply, fallback, report

    def _probe_reply(self, words: list[str], *, user: str, event: dict[str, Any]) -> tuple[list[blocks.Block], str]:
        """`probe ...` from a mention or /cni."""
        reply, fallback, _ = self._run_probes(
            words[1] if len(words) > 1 else "all",
            words[2] if len(words) > 2 else None,
            user=user,
            channel=str(event.get("channel") or ""),
            thread=str(event.get("thread_ts") or event.get("ts") or ""),
        )
        return reply, fallback

    def on_show_runbook(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _, runbook_id = blocks.parse_value(str(body["actions"][0].get("value") or ""))
        channel, thread = _where(body)
        try:
            reply, fallback = blocks.runbook_blocks(self.answering.runbook(runbook_id))
        except CnibotError as exc:
            reply, fallback = [blocks.section(str(exc))], str(exc)
        client.chat_postMessage(channel=channel, thread_ts=thread, blocks=reply, text=fallback)

    def on_not_this_one(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        answer_id, runbook_id = blocks.parse_value(str(body["actions"][0].get("value") or ""))
        channel, thread = _where(body)
        stored = self.store.answer(answer_id) if answer_id else None
        ranked = [m["runbook"] for m in json.loads(stored["matches"])] if stored else []
        candidates = [r for r in ranked if r != runbook_id][:4] or [r.id for r in self.answering.runbooks()][:10]
        reply, fallback = blocks.pick_blocks(answer_id, candidates)
        user = str((body.get("user") or {}).get("id") or "")
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread, blocks=reply, text=fallback)

    def on_pick_runbook(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        selected = (body["actions"][0].get("selected_option") or {}).get("value") or ""
        answer_id, chosen = blocks.parse_value(str(selected))
        user = str((body.get("user") or {}).get("id") or "")
        stored = self.store.answer(answer_id) if answer_id else None
        if stored is None:
            respond(text="That answer is no longer in the store; nothing was recorded.", replace_original=True)
            return
        try:
            self.store.record_feedback(answer_id=answer_id, user=user, chosen=chosen, text=stored["text"])
        except StoreError as exc:
            respond(text=f"Not recorded: {exc}", replace_original=True)
            return
        said = "none of these" if chosen == blocks.NONE_OF_THESE else f"`{chosen}`"
        respond(text=f"Recorded: this paste was {said}. Thank you.", replace_original=True)

    def on_find_runbook(self, ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """The "Find runbook" message shortcut: always answers, in the message's thread."""
        ack()
        message = shortcut.get("message") or {}
        event = {
            "channel": (shortcut.get("channel") or {}).get("id"),
            "ts": message.get("ts"),
            "thread_ts": message.get("thread_ts"),
            "text": message.get("text") or "",
            "user": (shortcut.get("user") or {}).get("id"),
        }
        self._answer(
            event, {"event_id": f"shortcut:{shortcut.get('action_ts') or message.get('ts')}"}, client, always=True
        )

    def on_run_probes(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        _, runbook = blocks.parse_value(str(body["actions"][0].get("value") or ""))
        channel, thread = _where(body)
        user = str((body.get("user") or {}).get("id") or "")
        client.chat_postMessage(channel=channel, thread_ts=thread, text=f"Running the read-only probes of `{runbook}`…")
        reply, fallback, report = self._run_probes("for", runbook, user=user, channel=channel, thread=thread)
        client.chat_postMessage(channel=channel, thread_ts=thread, blocks=reply, text=fallback)
        if report is not None and blocks.probe_report_is_long(report):
            self._attach(client, channel, thread, report)

    def _attach(self, client: WebClient, channel: str, thread: str, report: ProbeReport) -> None:
        """Long probe output goes along as a text file in the thread (files_upload_v2)."""
        from slack_sdk.errors import SlackApiError

        try:
            client.files_upload_v2(
                channel=channel,
                thread_ts=thread,
                content=blocks.probe_text(report),
                filename="cnibot-probes.txt",
                title="Every finding of this probe run",
            )
        except (SlackApiError, OSError) as exc:
            log.warning("could not attach the full probe report: %s", exc)

    def _record_probes(self, user: str, channel: str, thread: str, report: ProbeReport) -> None:
        try:
            self.store.record_probe_run(
                user=user,
                channel=channel,
                thread_ts=thread,
                cluster=report.cluster.description,
                simulated=report.cluster.simulated,
                statuses={r.probe: str(r.status) for r in report.results},
                error=report.cluster_error or "",
            )
        except StoreError as exc:
            log.error("probe run not recorded: %s", exc)

    # -- remediation -------------------------------------------------------------------------------

    def _remediation(self, channel: str) -> Remediation:
        if self.remediation is None:
            raise UsageError("Remediation is off: no approvers are configured (CNIBOT_APPROVERS).")
        return self.remediation(channel)

    def _propose(self, client: WebClient, words: list[str], *, user: str, channel: str, thread: str) -> str:
        """Plan, dry-run and propose; post the proposal with its buttons. Returns an error line, or ""."""
        from bot.services.plans import parse_parameters

        try:
            if not words:
                raise UsageError("usage: fix ACTION [key=value ...]; `cnibot remediation list` shows the actions")
            view = self._remediation(channel).propose(
                words[0], parse_parameters(words[1:]), requester=user, channel=channel, thread_ts=thread
            )
        except CnibotError as exc:
            message = f":x: Not proposed: {exc}"
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread or None, text=message)
            return str(exc)
        reply, fallback = blocks.proposal_blocks(view)
        posted = client.chat_postMessage(channel=channel, thread_ts=thread or None, blocks=reply, text=fallback)
        try:
            self._remediation(channel).set_message(view.proposal.id, channel=channel, message_ts=str(posted["ts"]))
        except CnibotError as exc:
            log.error("proposal message not recorded: %s", exc)
        if len(view.plan.steps) > 5:
            try:
                client.files_upload_v2(
                    channel=channel,
                    thread_ts=thread or str(posted["ts"]),
                    content=plan_text(view.plan, requests=len(view.plan.steps)),
                    filename=f"cnibot-plan-{view.proposal.id}.txt",
                    title=f"The whole plan of {view.proposal.id}",
                )
            except Exception as exc:  # the message shows the plan's head and its hash; the file is extra
                log.warning("could not attach the whole plan: %s", exc)
        return ""

    def on_propose(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        words = str(body["actions"][0].get("value") or "").split()  # ACTION [key=value ...]
        channel, thread = _where(body)
        user = str((body.get("user") or {}).get("id") or "")
        self._propose(client, words, user=user, channel=channel, thread=thread)

    def _update(self, client: WebClient, body: dict[str, Any], view: ProposalView) -> None:
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or view.channel)
        ts = str(container.get("message_ts") or view.message_ts)
        reply, fallback = blocks.proposal_blocks(view)
        try:
            client.chat_update(channel=channel, ts=ts, blocks=reply, text=fallback)
        except Exception as exc:  # the store has every step; a failed update must not hide the outcome
            log.error("could not update the proposal message: %s", exc)
            client.chat_postMessage(channel=channel, thread_ts=ts, blocks=reply, text=fallback)

    def _decide(self, ack: Ack, body: dict[str, Any], client: WebClient, *, approving: bool) -> None:
        ack()
        proposal_id = str(body["actions"][0].get("value") or "")
        channel, thread = _where(body)
        user = str((body.get("user") or {}).get("id") or "")
        try:
            remediation = self._remediation(channel)
            if approving:
                outcome, view = remediation.approve(
                    proposal_id, user=user, on_running=lambda running: self._update(client, body, running)
                )
            else:
                outcome, view = remediation.reject(proposal_id, user=user)
        except CnibotError as exc:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread or None, text=f":x: {exc}")
            return
        if not outcome.changed:
            # a refusal, a retry or a late click: only the clicker hears why; the message keeps what it shows
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread or None, text=outcome.message)
            return
        self._update(client, body, view)

    def on_approve(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        self._decide(ack, body, client, approving=True)

    def on_reject(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        self._decide(ack, body, client, approving=False)


def _where(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and thread a button was clicked in."""
    channel = str((body.get("channel") or {}).get("id") or "")
    message = body.get("message") or {}
    return channel, str(message.get("thread_ts") or message.get("ts") or "")


def fingerprint(text: str) -> str:
    """Two pastes of the same error share this, whatever their timestamps, ids and addresses."""
    return hashlib.sha1(normalize(text).lower().encode()).hexdigest()[:16]


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def start_bot(
    *,
    settings: SlackSettings,
    answering: Answering,
    probing: Callable[[str], Probing],
    store: Store,
    cluster: Callable[[str], str],
    client: WebClient | None = None,
    remediation: Callable[[str], Remediation] | None = None,
    actions_of: dict[str, list[str]] | None = None,
) -> SlackBot:
    """A SlackBot, with Slack's refusal of the token (auth.test at construction) as one sentence."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from bot.domain.errors import SettingsError

    try:
        with _quiet(
            "slack_sdk", "slack_bolt", "slack_bolt.App"
        ):  # the one-line error below says it; their retry logs repeat it
            return SlackBot(
                settings=settings,
                answering=answering,
                probing=probing,
                store=store,
                cluster=cluster,
                client=client,
                remediation=remediation,
                actions_of=actions_of,
            )
    except (BoltError, SlackClientError) as exc:
        raise SettingsError(f"Slack refused SLACK_BOT_TOKEN (auth.test at {settings.api_url}): {exc}") from exc
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        raise SettingsError(
            f"cannot reach Slack at {settings.api_url} to check SLACK_BOT_TOKEN (auth.test): {reason}"
        ) from exc
