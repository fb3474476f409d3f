"""The bolt app: listeners that acknowledge at once, call the services, and post Block Kit replies in
the thread of the message they answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import SlackSettings
from bot.domain.errors import CnibotError, UsageError
from bot.knowledge.redact import redact
from bot.services.answers import Answer, Answering
from bot.services.probing import Probing
from bot.slack import blocks
from bot.store.db import Store, StoreError

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+>")


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
        probing: Callable[[], Probing],
        store: Store,
        cluster: Callable[[], str],
        client: WebClient | None = None,
    ) -> None:
        self.settings = settings
        self.answering = answering
        self.probing = probing
        self.store = store
        self.cluster = cluster
        self.app = App(
            signing_secret=settings.signing_secret,
            client=client or web_client(settings),
            process_before_response=False,
        )
        self.app.event("message")(self.on_message)
        self.app.event("app_mention")(self.on_mention)
        self.app.command("/cni")(self.on_command)
        self.app.action(blocks.RUN_PROBES)(self.on_run_probes)

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
        self._answer(event, body, client, always=False)

    def on_mention(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        self._answer(event, body, client, always=True)

    def _answer(self, event: dict[str, Any], body: dict[str, Any], client: WebClient, *, always: bool) -> None:
        text = MENTION.sub("", str(event.get("text") or "")).strip()
        try:
            answer = self.answering.answer(text)
        except UsageError as exc:
            if always:
                self._post(client, event, [blocks.section(str(exc))], str(exc))
            return
        if not answer.result.confident and not always:
            return  # not confident: silent unless asked
        if not self._record(answer, event, body):
            return  # this event was answered before (a Slack retry, or another replica)
        reply, fallback = blocks.answer_blocks(answer, cluster=self.cluster())
        self._post(client, event, reply, fallback)

    def _record(self, answer: Answer, event: dict[str, Any], body: dict[str, Any]) -> bool:
        best = answer.result.best
        try:
            stored = self.store.record_answer(
                event_id=str(body.get("event_id") or event.get("client_msg_id") or event.get("ts")),
                channel=str(event.get("channel") or ""),
                thread_ts=str(event.get("thread_ts") or event.get("ts") or ""),
                user=str(event.get("user") or ""),
                cluster=self.cluster(),
                text=redact(answer.result.query),
                confident=answer.result.confident,
                runbook=best.runbook if best else "",
                score=best.score if best else 0.0,
                matches=[{"runbook": m.runbook, "score": round(m.score, 4)} for m in answer.result.matches],
            )
        except StoreError as exc:
            log.error("not recorded: %s", exc)  # the reply still goes out; the audit log misses it
            return True
        return stored is not None

    def _post(self, client: WebClient, event: dict[str, Any], reply: list[blocks.Block], fallback: str) -> None:
        thread = event.get("thread_ts") or event.get("ts")
        client.chat_postMessage(channel=event["channel"], thread_ts=thread, blocks=reply, text=fallback)

    # -- probes ------------------------------------------------------------------------------------

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()  # within Slack's 3 seconds; the work below runs after the acknowledgement
        text = str(command.get("text") or "").strip()
        words = text.split()
        if words[:1] == ["probe"]:
            try:
                probing = self.probing()
                ids = probing.ids_for(words[1] if len(words) > 1 else "all", words[2] if len(words) > 2 else None)
                reply, fallback = blocks.probe_blocks(probing.run(ids))
            except CnibotError as exc:
                reply, fallback = [blocks.section(f":x: {exc}")], str(exc)
            respond(blocks=reply, text=fallback, response_type="in_channel")
            return
        try:
            answer = self.answering.answer(text)
        except UsageError as exc:
            respond(text=str(exc))
            return
        reply, fallback = blocks.answer_blocks(answer, cluster=self.cluster())
        respond(blocks=reply, text=fallback, response_type="in_channel")

    def on_run_probes(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        runbook = str(body["actions"][0].get("value") or "")
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        thread = str(message.get("thread_ts") or message.get("ts") or "")
        user = str((body.get("user") or {}).get("id") or "")
        client.chat_postMessage(channel=channel, thread_ts=thread, text=f"Running the read-only probes of `{runbook}`…")
        try:
            probing = self.probing()
            report = probing.run(probing.ids_for("for", runbook))
            reply, fallback = blocks.probe_blocks(report)
            statuses: dict[str, str] = {r.probe: str(r.status) for r in report.results}
            self._record_probes(
                user,
                channel,
                thread,
                report.cluster.description,
                report.cluster.simulated,
                statuses,
                report.cluster_error or "",
            )
        except CnibotError as exc:
            reply, fallback = [blocks.section(f":x: {exc}")], str(exc)
        client.chat_postMessage(channel=channel, thread_ts=thread, blocks=reply, text=fallback)

    def _record_probes(
        self, user: str, channel: str, thread: str, cluster: str, simulated: bool, statuses: dict[str, str], error: str
    ) -> None:
        try:
            self.store.record_probe_run(
                user=user,
                channel=channel,
                thread_ts=thread,
                cluster=cluster,
                simulated=simulated,
                statuses=statuses,
                error=error,
            )
        except StoreError as exc:
            log.error("probe run not recorded: %s", exc)


def start_bot(
    *,
    settings: SlackSettings,
    answering: Answering,
    probing: Callable[[], Probing],
    store: Store,
    cluster: Callable[[], str],
    client: WebClient | None = None,
) -> SlackBot:
    """A SlackBot, with Slack's refusal of the token (auth.test at construction) as one sentence."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from bot.domain.errors import SettingsError

    try:
        return SlackBot(
            settings=settings, answering=answering, probing=probing, store=store, cluster=cluster, client=client
        )
    except (BoltError, SlackClientError) as exc:
        raise SettingsError(f"Slack refused SLACK_BOT_TOKEN (auth.test at {settings.api_url}): {exc}") from exc
    except OSError as exc:
        reason = getattr(exc, "reason", exc)
        raise SettingsError(
            f"cannot reach Slack at {settings.api_url} to check SLACK_BOT_TOKEN (auth.test): {reason}"
        ) from exc
