"""One bot, several clusters: each channel's probes go to its own kubeconfig context, and every reply
names the cluster. Two simulated clusters on loopback stand in for two real ones."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bot.config import ClusterSettings, Settings, SlackSettings, StoreSettings, read_settings_file
from bot.sim.scenarios import build_scenario
from bot.sim.server import SimCluster
from bot.slack.server import HttpServer
from bot.wiring import App
from tests.slack.test_bot import PASTE, SECRET, action_body, message_event, post
from tests.standins.slack import slack_standin


def merged_kubeconfig(path: Path, clusters: dict[str, SimCluster]) -> Path:
    merged: dict[str, list[object]] = {"clusters": [], "users": [], "contexts": []}
    for name, sim in clusters.items():
        single = yaml.safe_load(sim.write_kubeconfig(path.with_suffix(f".{name}"), context=name).read_text())
        for key in merged:
            merged[key].extend(single[key])
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", **merged, "current-context": "prod"}))
    return path


def test_each_channel_probes_its_own_cluster_and_replies_name_it(tmp_path: Path, knowledge_settings) -> None:
    with (
        SimCluster(build_scenario("ipam-exhausted")) as prod,
        SimCluster(build_scenario("healthy")) as staging,
        slack_standin() as (api_url, calls),
    ):
        kubeconfig = merged_kubeconfig(tmp_path / "kubeconfig", {"prod": prod, "staging": staging})
        settings = Settings(
            knowledge=knowledge_settings,
            slack=SlackSettings(
                bot_token="xoxb-test",
                signing_secret=SECRET,
                api_url=api_url,
                channel_clusters=(("C1", "prod"), ("C2", "staging")),
            ),
            store=StoreSettings(path=tmp_path / "cnibot.db"),
            cluster=ClusterSettings(kubeconfig=str(kubeconfig)),
        )
        app = App(settings)
        server = HttpServer(app.slack_bot().app, port=0, ready=lambda: True, host="127.0.0.1").start()
        url = f"http://127.0.0.1:{server.port}"
        try:
            post(url, message_event(PASTE, event_id="EvA"), "application/json")
            reply = calls.wait_for("chat.postMessage")[0]
            assert "Cluster: prod" in json.dumps(reply)
            body = action_body("cnibot_run_probes", "0:ipam-exhausted")
            post(url, body, "application/x-www-form-urlencoded")
            prod_results = calls.wait_for("chat.postMessage", 3, seconds=60)[2]
            post(url, body.replace(b"%22C1%22", b"%22C2%22"), "application/x-www-form-urlencoded")
            staging_results = calls.wait_for("chat.postMessage", 5, seconds=60)[4]
        finally:
            server.stop()
            app.close()
        assert staging_results["channel"] == "C2"
        assert "prod" in json.dumps(prod_results) and "leaked" in json.dumps(prod_results)
        assert "staging" in json.dumps(staging_results) and "leaked address" not in json.dumps(staging_results)


def test_the_settings_file_uses_the_environment_names(tmp_path: Path) -> None:
    path = tmp_path / "cnibot.yaml"
    path.write_text(
        "SLACK_BOT_TOKEN: xoxb-from-file\n"
        "CNIBOT_CHANNELS: [C1, C2]\n"
        "CNIBOT_CHANNEL_CLUSTERS: {C1: prod, C2: staging}\n"
        "CNIBOT_PROBE_DEADLINE: 30\n"
    )
    values = read_settings_file(path)
    settings = Settings.from_env({**values, "SLACK_BOT_TOKEN": "xoxb-from-env"})
    assert settings.slack.bot_token == "xoxb-from-env"  # the environment wins
    assert settings.slack.channels == ("C1", "C2")
    assert settings.slack.channel_clusters == (("C1", "prod"), ("C2", "staging"))
    assert settings.cluster.probe_deadline == 30.0
    path.write_text("SLACK_BOT_TOKEN: x\nSLACK_TOKEN: y\n")
    try:
        read_settings_file(path)
    except Exception as exc:
        assert str(exc).startswith(f"--config {path}: unknown setting 'SLACK_TOKEN'")
    else:
        raise AssertionError("an unknown setting was accepted")
