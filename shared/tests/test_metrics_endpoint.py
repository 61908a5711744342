"""Prometheus, the ServiceMonitor and the PodMonitor scrape `/metrics`: every process that
`jinguo serve` and `jinguo up` start answers it with the exposition itself, not a redirect (a
second request each scrape, and nothing at all for a scraper that follows none)."""

from __future__ import annotations

import httpx
import pytest

from jinguo_shared.cli.serving import compose_app

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"
)


@pytest.mark.parametrize("path", ["/metrics", "/metrics/"])
async def test_metrics_answers_with_the_exposition_not_a_redirect(path: str) -> None:
    transport = httpx.ASGITransport(app=compose_app([]))
    async with httpx.AsyncClient(transport=transport, base_url="http://jinguo") as client:
        plain = await client.get(path)
        negotiated = await client.get(path, headers={"Accept": PROMETHEUS_ACCEPT})

    assert plain.status_code == 200, plain.headers
    assert plain.headers["content-type"].startswith("text/plain; version=")
    assert "\nprocess_start_time_seconds " in plain.text
    assert negotiated.status_code == 200, negotiated.headers
    assert negotiated.headers["content-type"].startswith("application/openmetrics-text")
    assert negotiated.text.endswith("# EOF\n")
