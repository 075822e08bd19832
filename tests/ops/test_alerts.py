"""deploy/alerts.yml: Prometheus rules that name only what the app exports."""

from __future__ import annotations

import re
from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import ROOT

pytestmark = pytest.mark.django_db

RULES = ROOT / "deploy" / "alerts.yml"
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def selectors(expression: str) -> list[promql_parser.VectorSelector]:
    found = []
    promql_parser.walk(
        promql_parser.parse(expression),
        lambda node: found.append(node) if isinstance(node, promql_parser.VectorSelector) else None,
    )
    return found


def exported(text: str) -> dict[str, set[str]]:
    """Every series name a page exports (also a family with no sample yet), with the label
    names its samples carry."""
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.setdefault(family.name + suffix, set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


@pytest.fixture
def everything_exported(scrape, client) -> dict[str, set[str]]:
    """The web's /metrics after a request, and a worker's metrics after a task ran (the
    registry each worker serves at WORKER_METRICS_ADDRESS; tests/ops/test_worker_metrics.py
    serves it from a real worker)."""
    from jobs.tasks import sweep

    client.get("/admin/login/")
    sweep.apply()
    web = exported(scrape().text)
    worker = exported(generate_latest(REGISTRY).decode())
    return {name: web.get(name, set()) | worker.get(name, set()) for name in web | worker}


def test_every_alert_expression_names_metrics_and_labels_the_app_exports(everything_exported):
    assert rules()
    for rule in rules():
        for selector in selectors(rule["expr"]):
            assert selector.name in everything_exported, (rule["alert"], selector.name)
            labels = {m.name for m in selector.matchers.matchers} - {"__name__"}
            assert labels <= everything_exported[selector.name] | {"le"}, (rule["alert"], labels)


def test_the_promised_alerts_are_shipped():
    names = {rule["alert"] for rule in rules()}

    assert {
        "ConfirmationSLABreached",  # R4
        "JobLate",
        "JobBatchesFailing",
        "BeatSilent",
        "PurgeBlocked",  # R7
        "WorkerQueueGrowing",
    } <= names


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", readme, re.M)
    }
    for rule in rules():
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        runbook = rule["annotations"]["runbook"]
        assert runbook == f"README.md#{rule['alert'].lower()}", rule["alert"]
        assert rule["alert"].lower() in anchors, f"README has no section {rule['alert']}"


def test_a_rule_naming_a_metric_the_app_does_not_export_is_caught(everything_exported):
    # the check above can fail: a misspelt metric is not among the exported names
    (selector,) = selectors("max(backoffice_confirmation_overdue) > 0")
    assert selector.name not in everything_exported


def test_the_rules_file_is_valid_yaml_in_prometheus_rule_format():
    document = yaml.safe_load(Path(RULES).read_text())
    assert set(document) == {"groups"}
    for group in document["groups"]:
        assert set(group) == {"name", "rules"}
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert re.fullmatch(r"\d+[smhd]", rule.get("for", "0s")), rule["alert"]
