"""Sensu Classic 1.9's own rules for check definitions, re-implemented to test what mdd writes.

``validate_check`` is a line-by-line port of ``validate_check`` in sensu-settings 10.17.0
(``lib/sensu/settings/validators/check.rb``, the exact version Sensu Core 1.9.0 pins), with
its helpers from ``rules.rb`` and ``validators/time_window.rb``. It returns Sensu's own failure
messages, in Sensu's order. Ruby semantics are kept where they matter for JSON:

* only ``nil``/``false`` are falsy (``0`` and ``""`` are truthy, so ``"ttl": 0`` is checked);
* ``Integer`` excludes booleans and floats (``60.0`` is not an interval); ``Numeric`` takes both;
* regexes are ASCII (``\\w`` is ``[A-Za-z0-9_]``) and ``\\z`` anchors the very end;
* ``items_must_be_strings`` passes an empty list.

Two things Ruby does through other gems are approximated, and neither appears in what mdd
generates: cron strings (gem parse-cron: 5 or 6 fields, ``@daily``-style names, each of the
first five fields a list of ``*``, ``*/N``, ``N``, ``N-M``, ``N-M/S`` within the field's range)
and subdue times (Ruby's ``Time.parse``: any text with a digit or a day or month name).

Beyond the validator, ``route_failures`` applies the Classic API's route rule: an aggregate is
read through ``GET /aggregates/NAME`` with ``NAME`` matching ``[\\w.-]+``, so an aggregate
name with ``:`` or ``|`` loads but can never be fetched. ``token_failures`` finds text Sensu
would treat as a ``:::token:::`` (client attribute substitution) in any string of a check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeGuard

from mdd.core.cron import DAYS, MONTHS, NICKNAMES, RANGES

# --------------------------------------------------------------------------- Ruby semantics

_NAME = re.compile(r"\A[\w.-]+\Z", re.ASCII)
_SOURCE = re.compile(r"\A[\w.-]*([:]{3}[\w|.-]+[:]{3}[\w.-]*|[\w.-]+)\Z", re.ASCII)
_AGGREGATE = re.compile(r"\A[\w.:|-]+\Z", re.ASCII)
_ROUTE_NAME = re.compile(r"[\w.-]+", re.ASCII)  # SC api/routes: /^\/aggregates\/([\w\.-]+)$/
_TOKEN = re.compile(r":::([^:].*?):::")  # SC utilities.rb substitute_tokens

_HOOK_SEVERITIES = ("ok", "warning", "critical", "unknown")
_DAYS = ("all", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def _set(value: Any) -> bool:
    """Ruby ``!value.nil?``."""
    return value is not None


def _truthy(value: Any) -> bool:
    """Ruby truthiness: everything but ``nil`` and ``false``."""
    return value is not None and value is not False


def _is_integer(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _if_set(rule: Callable[[Any], bool], value: Any) -> bool:
    return value is None or rule(value)


def _matches(regex: re.Pattern[str], value: Any) -> bool:
    """``must_match_regex``: ``(value =~ regex) == 0``; a non-string never matches."""
    return isinstance(value, str) and regex.match(value) is not None


def _items_must_be_strings(value: list[Any], regex: re.Pattern[str] | None = None) -> bool:
    return all(
        isinstance(item, str) and item != "" and (regex is None or regex.search(item) is not None)
        for item in value
    )


# --------------------------------------------------------------------------- other gems

_CRON_SYMBOLS = {
    **{month: str(number) for number, month in enumerate(MONTHS, 1)},
    **{day: str(number) for number, day in enumerate(DAYS)},
}
_CRON_ITEM = re.compile(r"(\d+)(?:-(\d+)(?:/(\d+))?)?", re.ASCII)
_CRON_STAR = re.compile(r"\*(?:/(\d+))?", re.ASCII)


def cron_parses(value: Any) -> bool:
    """Whether parse-cron's ``CronParser.new(value).next`` returns (approximation)."""
    if not isinstance(value, str) or value == "@reboot":
        return False
    source = NICKNAMES.get(value, value)
    fields = re.split(r"\s+", source, flags=re.ASCII)
    while fields and fields[-1] == "":  # Ruby's split drops trailing empty fields
        fields.pop()
    if not 5 <= len(fields) <= 6:
        return False
    for field, (low, high) in zip(fields[:5], RANGES, strict=True):
        text = field.lower()
        for symbol, number in _CRON_SYMBOLS.items():
            text = text.replace(symbol, number)
        for item in text.split(","):
            star = _CRON_STAR.fullmatch(item)
            if star:
                if star.group(1) is not None and int(star.group(1)) == 0:
                    return False
                continue
            match = _CRON_ITEM.fullmatch(item)
            if not match:
                return False
            first = int(match.group(1))
            last = int(match.group(2) or first)
            step = int(match.group(3) or 1)
            if not (low <= first <= last <= high and step > 0):
                return False
    return True


_TIME_WORDS = re.compile(
    r"sun|mon|tue|wed|thu|fri|sat|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", re.IGNORECASE
)


def _time_parses(value: Any) -> bool:
    """Whether Ruby's ``Time.parse(value)`` succeeds (approximation)."""
    return isinstance(value, str) and (
        any(c.isdigit() for c in value) or _TIME_WORDS.search(value) is not None
    )


# --------------------------------------------------------------------------- the validator


Need = Callable[[bool, str], None]
"""Ruby's ``rule || invalid(check, message)``: records ``message`` when ``rule`` is false."""


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_array(value: Any) -> bool:
    return isinstance(value, list)


def validate_check(check: Mapping[str, Any]) -> list[str]:
    """Sensu's failure messages for one check; ``check["name"]`` is its key in ``checks``.

    One function per method of sensu-settings' ``Validators::Check``, in its order.
    """
    failures: list[str] = []

    def need(ok: bool, message: str) -> None:
        if not ok:
            failures.append(message)

    for rule in _CHECK_RULES:
        rule(check, need)
    if _truthy(check.get("subdue")):  # validate_check_subdue (only if set)
        _validate_time_windows(check, "check", "subdue", failures.append)
    return failures


def _validate_check_name(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_name``."""
    get = check.get
    need(_is_string(get("name")), "check name must be a string")
    need(_matches(_NAME, get("name")), "check name cannot contain spaces or special characters")


def _validate_check_execution(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_execution``."""
    get = check.get
    command, extension = get("command"), get("extension")
    need(_if_set(_is_string, command), "check command must be a string")
    need(_if_set(_is_string, extension), "check extension must be a string")
    need(_set(command) != _set(extension), "either check command or extension must be set")
    need(_if_set(_is_numeric, get("timeout")), "check timeout must be numeric")
    need(_if_set(_is_boolean, get("stdin")), "check stdin must be boolean")


def _validate_check_source(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_source`` (only if set)."""
    get = check.get
    source = get("source")
    if _truthy(source):
        if _is_string(source):
            need(
                _matches(_SOURCE, source),
                "check source cannot contain spaces, special characters, or invalid tokens",
            )
        else:
            need(False, "check source must be a string")


def _validate_check_scheduling(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_scheduling``."""
    get = check.get
    need(_if_set(_is_boolean, get("publish")), "check publish must be boolean")
    if get("publish") is not False:
        cron = get("cron")
        if _truthy(cron):
            # validate_check_cron
            need(_is_string(cron), "check cron must be a string")
            need(cron_parses(cron), "check cron string must use the cron syntax")
        else:
            interval = get("interval")
            need(
                _is_integer(interval) and interval > 0,
                "check interval must be an integer greater than 0",
            )
    need(_if_set(_is_boolean, get("standalone")), "check standalone must be boolean")
    if not _truthy(get("standalone")):
        subscribers = get("subscribers")
        if isinstance(subscribers, list):
            need(_items_must_be_strings(subscribers), "check subscribers must each be a string")
        else:
            need(False, "check subscribers must be an array")


def _validate_check_proxy_requests(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_proxy_requests`` (only if set)."""
    get = check.get
    proxy = get("proxy_requests")
    if _truthy(proxy):
        if isinstance(proxy, Mapping):
            need(
                isinstance(proxy.get("client_attributes"), Mapping),
                "check proxy_requests client_attributes must be a hash",
            )
            need(
                _if_set(_is_boolean, proxy.get("splay")),
                "check proxy_requests splay must be boolean",
            )
            coverage = proxy.get("splay_coverage")
            if _truthy(coverage):
                need(
                    _is_integer(coverage) and 0 < coverage < 100,
                    "check proxy_requests splay_coverage must be an integer greater than 0 "
                    "and less than 100",
                )
        else:
            need(False, "check proxy_requests must be a hash")


def _validate_check_handling(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_handling``."""
    get = check.get
    handlers = get("handlers")
    need(_if_set(_is_string, get("handler")), "check handler must be a string")
    need(_if_set(_is_array, handlers), "check handlers must be an array")
    if isinstance(handlers, list):
        need(_items_must_be_strings(handlers), "check handlers must each be a string")


def _validate_check_ttl(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_ttl`` (only if truthy: 0 is truthy in Ruby)."""
    get = check.get
    ttl = get("ttl")
    if _truthy(ttl):
        if _is_integer(ttl):
            need(ttl > 0, "check ttl must be greater than 0")
        else:
            need(False, "check ttl must be an integer")
        need(_if_set(_is_integer, get("ttl_status")), "check ttl_status must be an integer")


def _validate_check_aggregate(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_aggregate``."""
    get = check.get
    aggregates = get("aggregates")
    if _truthy(aggregates):
        if isinstance(aggregates, list):
            need(
                _items_must_be_strings(aggregates, _AGGREGATE),
                "check aggregates items must be strings without spaces or special characters",
            )
        else:
            need(False, "check aggregates must be an array")
    aggregate = get("aggregate")
    if _truthy(aggregate):
        if _is_string(aggregate):
            need(
                _matches(_AGGREGATE, aggregate),
                "check aggregate cannot contain spaces or special characters",
            )
        else:
            need(_is_boolean(aggregate), "check aggregate must be a string (name) or boolean")


def _validate_check_flap_detection(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_flap_detection``."""
    get = check.get
    low, high = get("low_flap_threshold"), get("high_flap_threshold")
    if _set(low) or _set(high):
        need(_is_integer(low), "check low flap threshold must be an integer")
        need(_is_integer(high), "check high flap threshold must be an integer")


def _validate_check_hooks(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_hooks`` (only if set)."""
    get = check.get
    hooks = get("hooks")
    if _truthy(hooks):
        if isinstance(hooks, Mapping):
            for key, hook in hooks.items():
                name = str(key)
                need(
                    name in _HOOK_SEVERITIES or name in _STATUS_KEYS or name == "non-zero",
                    "check hook key must be a severity, status, or 'non-zero'",
                )
                if not isinstance(hook, Mapping):
                    # Ruby calls hook[:command] on it and raises: Sensu would not start.
                    need(False, f"check hook {name} must be a hash (sensu-settings fails on it)")
                    continue
                need(_is_string(hook.get("command")), "check hook command must be a string")
                need(
                    _if_set(_is_numeric, hook.get("timeout")), "check hook timeout must be numeric"
                )
                need(_if_set(_is_boolean, hook.get("stdin")), "check hook stdin must be boolean")
        else:
            need(False, "check hooks must be a hash")


def _validate_check_truncate_output(check: Mapping[str, Any], need: Need) -> None:
    """sensu-settings ``validate_check_truncate_output``."""
    get = check.get
    need(_if_set(_is_boolean, get("truncate_output")), "check truncate_output must be boolean")
    length = get("truncate_output_length")
    if _truthy(length):
        need(
            _is_integer(length) and length > 0,
            "check truncate_output_length must be an integer greater than 0",
        )


_CHECK_RULES: tuple[Callable[[Mapping[str, Any], Need], None], ...] = (
    _validate_check_name,
    _validate_check_execution,
    _validate_check_source,
    _validate_check_scheduling,
    _validate_check_proxy_requests,
    _validate_check_handling,
    _validate_check_ttl,
    _validate_check_aggregate,
    _validate_check_flap_detection,
    _validate_check_hooks,
    _validate_check_truncate_output,
)


_STATUS_KEYS = frozenset(str(i) for i in range(256))


def _validate_time_windows(
    definition: Mapping[str, Any], scope: str, attribute: str, invalid: Callable[[str], None]
) -> None:
    windows = definition.get(attribute)
    if not isinstance(windows, Mapping):
        invalid(f"{scope} {attribute} must be a hash")
        return
    days = windows.get("days")
    if not isinstance(days, Mapping):
        invalid(f"{scope} {attribute} days must be a hash")
        return
    if not days:
        invalid(f"{scope} {attribute} days must include at least one day of the week or 'all'")
        return
    if not all(str(day) in _DAYS for day in days):
        invalid(f"{scope} {attribute} days must be valid days of the week or 'all'")
        return
    for day, conditions in days.items():
        if not isinstance(conditions, list):
            invalid(f"{scope} {attribute} days {day} must be in an array")
        elif not conditions:
            invalid(f"{scope} {attribute} days {day} must include at least one time window")
        else:
            for condition in conditions:
                if isinstance(condition, Mapping):
                    begin, end = condition.get("begin"), condition.get("end")
                    if not (_time_parses(begin) and _time_parses(end)):
                        invalid(
                            f"{scope} {attribute} day time window begin and end times must be valid"
                        )
                else:
                    invalid(f"{scope} {attribute} day time window must be a hash")


# --------------------------------------------------------------------------- beyond the validator


def aggregate_names(check: Mapping[str, Any]) -> list[str]:
    """The aggregates a check's results join (SC ``server/process.rb``), names only."""
    aggregates = check.get("aggregates")
    if _truthy(aggregates):
        return [a for a in aggregates if isinstance(a, str)] if isinstance(aggregates, list) else []
    aggregate = check.get("aggregate")
    if aggregate is True:
        name = check.get("name")
        return [name] if isinstance(name, str) else []
    return [aggregate] if isinstance(aggregate, str) and aggregate else []


def route_failures(check: Mapping[str, Any]) -> list[str]:
    """Aggregates that load into Sensu but that its API cannot serve (``[\\w.-]+`` only).

    A name holding a ``:::token:::`` is only known once the client has substituted it, so it
    is not judged here.
    """
    return [
        f"check aggregate {name!r} cannot be read through the Sensu API "
        f"(GET /aggregates/NAME takes only letters, digits, '_', '.' and '-')"
        for name in aggregate_names(check)
        if not _TOKEN.search(name) and not _ROUTE_NAME.fullmatch(name)
    ]


def every_string(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Each string in a JSON ``value`` with its path (``check.mdd.owner``, ``handlers[0]``):
    what a Classic client or a Go agent reads for tokens (``go_rules`` reads it too)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from every_string(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from every_string(item, f"{path}[{index}]")


def find_tokens(text: str) -> list[str]:
    """The ``:::token:::`` texts a Sensu Classic client would substitute in ``text``."""
    return [match.group(0) for match in _TOKEN.finditer(text)]


def token_failures(check: Mapping[str, Any]) -> list[str]:
    """Strings of a check that a Sensu Classic client would rewrite before running it.

    The client replaces ``:::path:::`` and ``:::path|default:::`` in every string of a check
    with the client's attribute; when there is no such attribute the command is not run at
    all (status 3, "Unmatched client token(s)"). Sensu has no way to escape this syntax.
    """
    return [
        f"{path} would hold {token!r}, which a Sensu client replaces with a client "
        f"attribute before it runs the check (Sensu has no way to escape it)"
        for path, text in every_string({k: v for k, v in check.items() if k != "name"})
        for token in find_tokens(text)
    ]


def validate_checks(checks: Any, *, api: bool = True) -> list[str]:
    """Failures of a whole ``checks`` hash, each prefixed with its check's name.

    ``api`` adds the API route rule (``route_failures``) to Sensu's validator.
    """
    if not isinstance(checks, Mapping):
        return ["checks must be a hash"]
    failures: list[str] = []
    for name, details in checks.items():
        if not isinstance(details, Mapping):
            failures.append(f"check {name!r}: check must be a hash")
            continue
        check = {**details, "name": str(name)}
        problems = validate_check(check) + (route_failures(check) if api else [])
        failures += [f"check {name!r}: {problem}" for problem in problems]
    return failures


def validate_filter(definition: Any) -> list[str]:
    """A port of sensu-settings 10.17.0 ``validate_filter`` (validators/filter.rb): ``negate``
    boolean if set, ``attributes`` a hash, ``when`` time windows if set."""
    if not isinstance(definition, Mapping):
        return ["filter must be a hash"]
    failures: list[str] = []
    if not _if_set(_is_boolean, definition.get("negate")):
        failures.append("filter negate must be boolean")
    if not isinstance(definition.get("attributes"), Mapping):
        failures.append("filter attributes must be a hash")
    if _truthy(definition.get("when")):
        _validate_time_windows(definition, "filter", "when", failures.append)
    return failures


def validate_document(document: Any, *, api: bool = True) -> list[str]:
    """Failures of one configuration file's JSON (``{"checks": {...}, "filters": {...}}``) as
    Sensu loads it."""
    if not isinstance(document, Mapping):
        return ["the file must hold a JSON object (Sensu merges it into its settings hash)"]
    failures = validate_checks(document["checks"], api=api) if "checks" in document else []
    filters = document.get("filters", {})
    if not isinstance(filters, Mapping):
        return [*failures, "filters must be a hash"]
    for name, definition in filters.items():
        failures += [f"filter {name!r}: {problem}" for problem in validate_filter(definition)]
    return failures
