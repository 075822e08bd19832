"""Reading /metrics as Prometheus would."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "scrape-token-for-tests-7f3a"


class Scrape:
    """The samples of one /metrics page, by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = list(text_string_to_metric_families(text))
        self.samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in self.families
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, tuple(sorted(labels.items())))]

    def get(self, name: str, **labels: str) -> float:
        """The sample's value, 0 when the page has none (a counter not counted yet)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0)

    def labelled(self, name: str) -> dict[tuple, float]:
        return {labels: value for (n, labels), value in self.samples.items() if n == name}


@pytest.fixture
def scrape(client, settings):
    """GET /metrics with the scrape token; returns the parsed page."""
    settings.METRICS_TOKEN = TOKEN

    def get(**headers) -> Scrape:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
        assert response.status_code == 200, response.content[:500]
        return Scrape(response.content.decode())

    return get
