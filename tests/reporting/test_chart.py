"""The chart is a valid PNG of a sensible size, for a growing history, a single point and no pools."""

from __future__ import annotations

import struct
import zlib

from bot.reporting.chart import render_chart
from bot.reporting.ipam import DAY, PoolSample, Snapshot, Thresholds, build_report

T0 = 1_796_634_000.0


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature and the chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert zlib.crc32(kind + body) == crc, "IHDR CRC mismatch"
    assert data[-12:-4] == b"\x00\x00\x00\x00IEND", "no IEND chunk at the end"
    width, height = struct.unpack(">II", body[:8])
    return width, height


def snap(days: float, *pools: tuple[str, int, int]) -> Snapshot:
    return Snapshot(
        T0 + days * DAY, "prod", "calico", False, tuple(PoolSample(n, "10.0.0.0/16", c, a) for n, a, c in pools)
    )


def test_a_growing_history_with_a_forecast_is_a_1000_by_500_png() -> None:
    history = [snap(d, ("a", 400 + 20 * d, 1024), ("b", 100, 4096)) for d in range(30)]
    view = build_report(snap(30, ("a", 1000, 1024), ("b", 100, 4096)), history, Thresholds())
    assert view.pools[0].exhausted_at is not None  # the forecast line is drawn to it
    data = render_chart(view, timezone="Europe/Berlin")
    assert png_size(data) == (1000, 500)
    assert 10_000 < len(data) < 300_000  # a real drawing, small enough for Slack previews


def test_one_point_and_no_pools_still_draw() -> None:
    for view in (
        build_report(snap(0, ("a", 10, 1024)), [], Thresholds()),
        build_report(snap(0), [], Thresholds()),
    ):
        data = render_chart(view)
        assert png_size(data) == (1000, 500) and len(data) > 5_000
