"""The IPAM report and pool alerts in Slack: Block Kit summaries, the chart uploaded with
files_upload_v2, and buttons into the runbook and the release-leaked-ips proposal."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.reporting import text
from bot.reporting.ipam import IpamReportView
from bot.services.reports import PoolAlert, PostError
from bot.slack.blocks import PROPOSE, SHOW_RUNBOOK, STATUS_EMOJI, Block, _button, button_value, context, section

log = logging.getLogger(__name__)
RUNBOOK = "ipam-exhausted"
RELEASE_ACTION = "release-leaked-ips"
MAX_POOL_SECTIONS = 20  # a message holds 50 blocks; the rest are counted, and the CLI shows them all


def report_blocks(view: IpamReportView, *, timezone: str) -> tuple[list[Block], str]:
    now = view.snapshot.at
    out: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "IPAM usage report"[:150]}},
        section(f"{STATUS_EMOJI[view.level]} *{text.headline(view, timezone)}*"),
    ]
    for report in view.pools[:MAX_POOL_SECTIONS]:
        p = report.pool
        state = "disabled" if p.disabled else f"{STATUS_EMOJI[report.level]} {text.LEVEL_WORD[report.level]}"
        out.append(
            section(
                f"*{p.name}* `{p.cidr}`: {state}\n{text.usage_phrase(report)}\n"
                f"{text.change_phrase(report)} · {text.growth_phrase(report)} · "
                f"{text.forecast_phrase(report, now, timezone)}"
            )
        )
    if len(view.pools) > MAX_POOL_SECTIONS:
        out.append(context(f"… and {len(view.pools) - MAX_POOL_SECTIONS} more pool(s): `cnibot report ipam` lists all"))
    details = [x for x in (text.nodes_phrase(view), text.blocks_phrase(view), text.leak_phrase(view)) if x]
    out.append(section("\n".join(f"• {line}" for line in details)))
    buttons: list[Block] = []
    if view.level != "ok":
        out.append(section(f":book: Above the warning threshold: runbook *{RUNBOOK}*"))
        buttons.append(_button("Show runbook", SHOW_RUNBOOK, button_value(0, RUNBOOK)))
    if view.snapshot.leaked_total:
        buttons.append(_button("Propose release of leaked IPs", PROPOSE, RELEASE_ACTION, primary=view.level != "ok"))
    if buttons:
        out.append({"type": "actions", "elements": buttons})
    t = view.thresholds
    out.append(
        context(
            f"Thresholds: warning {t.warning:.0%}, critical {t.critical:.0%} · "
            f"{len(view.history)} earlier snapshot(s) · the chart follows in the thread"
        )
    )
    return out, text.headline(view, timezone)


def alert_blocks(alert: PoolAlert) -> tuple[list[Block], str]:
    simulated = text.simulated_marker(alert.cluster, alert.simulated)
    direction = "back to" if alert.level == "ok" else "now"
    line = (
        f"IPAM alert: pool {alert.pool} ({alert.cidr}) on {alert.cluster}{simulated} is {direction} "
        f"{text.LEVEL_WORD[alert.level]}: {alert.allocated:,}/{alert.capacity:,} ({alert.utilization:.1%}) allocated, "
        f"was {alert.previous}"
    )
    out: list[Block] = [section(f"{STATUS_EMOJI[alert.level]} {line}")]
    if alert.level != "ok":
        out.append({"type": "actions", "elements": [_button("Show runbook", SHOW_RUNBOOK, button_value(0, RUNBOOK))]})
    return out, line


class SlackReportPoster:
    """Posts with the bot's WebClient (which retries on 429). A post Slack refuses raises PostError (one
    line): the report service gives its claim back so that the next attempt posts it, and the CLI says it."""

    def __init__(self, client: WebClient, *, timezone: str) -> None:
        self.client = client
        self.timezone = timezone

    def post_report(self, channel: str, view: IpamReportView, chart: bytes | None) -> None:
        reply, fallback = report_blocks(view, timezone=self.timezone)
        posted = self._post(channel, "report", blocks=reply, text=fallback)
        if chart is None:
            return
        stamp = text.when(view.snapshot.at, self.timezone, "%Y%m%d-%H%M")
        try:
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=str(posted["ts"]),
                file=chart,
                filename=f"cnibot-ipam-{stamp}.png",
                title=f"IPAM utilization: {view.snapshot.cluster}",
            )
        except SlackApiError as exc:  # the summary is out; a missing chart must not post it again
            log.warning("the IPAM chart was not uploaded: %s", exc.response.get("error", exc))
        except Exception as exc:  # the transport (a reset connection, a timeout): the same
            log.warning("the IPAM chart was not uploaded: %s", exc)

    def post_alert(self, channel: str, alert: PoolAlert) -> None:
        reply, fallback = alert_blocks(alert)
        self._post(channel, "alert", blocks=reply, text=fallback)

    def post_failure(self, channel: str, cluster: str, message: str) -> None:
        self._post(channel, "failure notice", text=f":x: The IPAM report could not be made. {message}")

    def _post(self, channel: str, what: str, **message: Any) -> Any:
        try:
            return self.client.chat_postMessage(channel=channel, **message)
        except SlackApiError as exc:
            raise PostError(f"the {what} could not be posted to {channel}: {exc.response.get('error', exc)}") from exc
        except Exception as exc:  # the transport: refused, reset, timed out
            raise PostError(f"the {what} could not be posted to {channel}: {exc}") from exc
