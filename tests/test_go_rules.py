"""``mdd.sensu.go_rules`` held to cases that break each Sensu Go rule, so that passing it
means something: CheckConfig.Validate, the wrapper, sensuctl's parser and robfig's cron."""

from __future__ import annotations

from typing import Any

import pytest

from mdd.sensu import go_rules

# --------------------------------------------------------------------------- the rules themselves


def good_spec() -> dict[str, Any]:
    return {
        "command": "true",
        "subscriptions": ["mdd-ams1"],
        "publish": True,
        "interval": 60,
        "handlers": [],
    }


META = {"name": "mdd_ams1_x", "namespace": "default"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": 0}, "check interval must be greater than 0 or a valid cron schedule"),
        ({"cron": "*/5 * * * *"}, "must only specify either an interval or a cron schedule"),
        ({"interval": 0, "cron": "* * * *"}, "check cron string is invalid"),
        ({"ttl": 60}, "ttl must be greater than check interval"),
        ({"interval": 60.0}, "wrong JSON type"),
        ({"interval": "60"}, "wrong JSON type"),
        ({"timeout": -1}, "wrong JSON type"),
        ({"publish": False}, "publish must be true"),
        ({"subscriptions": [""]}, "subscriptions cannot be empty strings"),
        ({"subscriptions": []}, "subscriptions cannot be empty"),
        ({"subscriptions": ["a b"]}, "is not a Sensu subscription name"),
        ({"handlers": ["pager duty"]}, "handler name"),
        ({"proxy_entity_name": "mdd ams1"}, "proxy entity name cannot contain"),
        ({"runtime_assets": ["a b"]}, "asset name"),
        ({"output_metric_format": "nagios"}, "output metric format is not valid"),
        ({"env_vars": ["FOO"]}, "environment variables must be of the form FOO=BAR"),
        ({"env_vars": ["FOO="]}, "environment variables must be of the form FOO=BAR"),
        ({"env_vars": ["=x"]}, "environment variables must be of the form FOO=BAR"),
        ({"low_flap_threshold": 60, "high_flap_threshold": 20}, "invalid flap thresholds"),
        ({"round_robin": True, "ttl": 120}, "needs a proxy_entity_name"),
        ({"secrets": [{"name": "PW", "secret": "a b"}]}, "secrets entry"),
        ({"source": "mdd-ams1"}, "is not a CheckConfig field"),
        ({"command": ""}, "command must be set"),
    ],
)
def test_go_rules_catch_each_mistake(change: dict[str, Any], message: str) -> None:
    spec = good_spec() | change
    assert go_rules.check_failures(good_spec(), META) == []
    failures = go_rules.check_failures(spec, META)
    assert any(message in f for f in failures), failures


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"name": "a b", "namespace": "default"}, "check name cannot contain spaces"),
        ({"name": "", "namespace": "default"}, "check name must not be empty"),
        ({"name": "x"}, "namespace must be set"),
        ({"name": "x", "namespace": "d", "labels": {"1x": "a"}}, "label key"),
    ],
)
def test_go_rules_catch_metadata_mistakes(metadata: dict[str, Any], message: str) -> None:
    failures = go_rules.check_failures(good_spec(), metadata)
    assert any(message in f for f in failures), failures


def test_go_rules_catch_wrapper_mistakes() -> None:
    spec = good_spec() | {"metadata": META}
    good = {"type": "CheckConfig", "api_version": "core/v2", "metadata": META, "spec": spec}
    assert go_rules.wrapper_failures(good, "CheckConfig", "core/v2") == []
    for bad, message in [
        (good | {"type": "Check"}, "type must be CheckConfig"),
        (good | {"api_version": "core/v3"}, "api_version must be core/v2"),
        (good | {"extra": 1}, "unknown top-level key"),
        (good | {"metadata": META | {"labels": {"n": 1}}}, "labels must map strings"),
        (good | {"spec": good_spec()}, "spec.metadata must repeat metadata"),
        ({k: v for k, v in good.items() if k != "spec"}, "no spec provided"),
    ]:
        failures = go_rules.wrapper_failures(bad, "CheckConfig", "core/v2")
        assert any(message in f for f in failures), (message, failures)


def test_sensuctl_parser_splits_on_any_line_starting_with_three_dashes() -> None:
    assert go_rules.split_resources("---\na: 1\n--- {b: 2}\nc: 3\n") == ["a: 1\n", "c: 3\n\n"]
    stream = '{"a": 1}\n{"b": 2}\n'
    assert go_rules.parse_stream(stream) == [{"a": 1}, {"b": 2}]
    assert go_rules.parse_stream('---\na: 1\n---\n{"b": 2}\n') == [{"a": 1}, {"b": 2}]
    with pytest.raises(go_rules.ParseError, match="boolean in go-yaml v2"):
        go_rules.parse_stream("---\nowner: y\n")
    assert go_rules.parse_stream("---\nowner: 'y'\n") == [{"owner": "y"}]


@pytest.mark.parametrize(
    ("cron", "go"),
    [
        ("*/5 * * * *", True),
        ("0 6 * * 1-5", True),
        ("0 6 * jan-mar mon,fri", True),
        ("@hourly", True),
        ("@every 1m30s", True),
        ("CRON_TZ=Europe/Amsterdam 0 6 * * *", True),
        ("* * * *", False),
        ("* * * * * *", False),  # robfig's standard parser takes no seconds field
        ("0 6 * * 7", False),  # robfig: day of week 0-6
        ("60 * * * *", False),
        ("*/0 * * * *", False),
        ("@reboot", False),
    ],
)
def test_go_cron_parser(cron: str, go: bool) -> None:
    assert go_rules.cron_parses(cron) is go
