"""``mdd status``: a datacenter's progress as a live Sensu sees it, without running checks.

Sensu Classic (1.x): ``GET /info`` (is this a Sensu 1.x API?), ``GET /results`` (the stored
result of every check of every client; mdd's are named ``mdd_<datacenter>_<point>``) and
``GET /aggregates/mdd_<datacenter>`` (Sensu's own count, shown beside the board), with HTTP
basic auth when ``--user`` is given. Sensu Go: ``GET /api/core/v2/namespaces/NS/events``
(paged with ``Sensu-Continue``), with ``Authorization: Key <api key>``.

The password and the API key are read from a file or an environment variable, never from
the command line, and never appear in a message.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from mdd.checks.api import Result, State
from mdd.core.model import IntegrationPoint, Manifest
from mdd.runner.runner import Outcome
from mdd.runner.states import PointView, StateFile

PAGE = 500  # Sensu Go events per request
PAGE_LIMIT = 200  # Sensu Go pages read at most (100,000 events)
RESPONSE_LIMIT = 64 << 20  # bytes of one API response, before and after decompression
COMMAND_REQUESTS = 10  # all the API reads of one command end within this many request timeouts
EXECUTED_LIMIT = 1 << 34  # seconds since 1970 (year 2514): a later "executed" is not a time


class ApiError(Exception):
    """The Sensu API could not be read; the message says what happened and where."""


class StatusUsageError(Exception):
    """The options do not fit together."""


class _Budget(NamedTuple):
    deadline: float  # time.monotonic() by which the request ends
    within: str  # the same, for a message: "10s", or "1m40s in all"


class _Late(Exception):
    """The request's deadline passed: in the response's head or its body (``phase``)."""

    def __init__(self, phase: str) -> None:
        super().__init__(phase)
        self.phase = phase


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit:,} bytes"


def _decoded(response: Any, url: str, path: str) -> bytes:
    """The body without its content coding (gzip or deflate), never more than
    ``RESPONSE_LIMIT`` bytes decompressed: a small body that expands to gigabytes is refused
    at the cap."""
    import zlib

    codings = [
        c.strip().lower()
        for value in response.get_all("Content-Encoding")
        for c in value.split(",")
        if c.strip() and c.strip().lower() != "identity"
    ]
    body: bytes = response.body
    if not codings:
        return body
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise ApiError(
            f"the Sensu API at {url} answered GET {path} in a content coding mdd does not "
            f"read ({', '.join(codings)[:60]}); it asked for none"
        )
    decoder = zlib.decompressobj(47 if "gzip" in codings[0] else 15)
    try:
        data = decoder.decompress(body, RESPONSE_LIMIT + 1)
    except zlib.error as exc:
        raise ApiError(
            f"the Sensu API at {url} answered GET {path} with a broken {codings[0]} body: {exc}"
        ) from None
    if len(data) > RESPONSE_LIMIT:
        raise ApiError(
            f"the Sensu API at {url} answered GET {path} with a {codings[0]} body that expands "
            f"to more than {_size(RESPONSE_LIMIT)}: nothing past that is read"
        )
    return data


class Found:
    """One mdd check's result as Sensu stored it."""

    __slots__ = (
        "status",
        "output",
        "executed",
        "history",
        "interval",
        "times",
        "ttl",
        "cron",
        "runner",
    )

    def __init__(
        self,
        status: int,
        output: str,
        executed: float | None,
        history: list[int],
        interval: float | None = None,
        times: list[float | None] | None = None,
        ttl: int | None = None,
        cron: bool = False,
        runner: str | None = None,
    ):
        self.status = status
        self.output = output
        self.executed = executed
        self.history = history  # statuses, oldest first
        self.interval = interval  # the check's interval, seconds
        self.times = times  # each history entry's executed (Sensu Go), else None
        self.ttl = ttl
        self.cron = cron  # scheduled by cron: its interval says nothing of its cadence
        self.runner = runner  # batch mode: the runner check that submits it

    def limit(self) -> int | None:
        """How old the result may be before it is stale: its ttl, else twice its interval."""
        if self.ttl:
            return self.ttl
        if self.cron or not self.interval or self.interval <= 1:
            return None
        return int(2 * self.interval)

    def age(self, now: float) -> float | None:
        return None if self.executed is None else max(0.0, now - self.executed)

    def stale(self, now: float) -> bool:
        limit, age = self.limit(), self.age(now)
        return limit is not None and age is not None and age > limit


def _read_secret(path: str | None, env: str | None, what: str) -> str | None:
    if path is not None:
        from mdd.checks.api import CheckError, read_secret

        try:  # as the checks read theirs: a FIFO or a device is refused, never waited on
            return read_secret(("file", os.path.expanduser(path)), f"the {what}")
        except CheckError as exc:
            raise StatusUsageError(str(exc)) from None
    if env is not None:
        found = os.environ.get(env)
        if not found:
            raise StatusUsageError(f"the environment variable {env} ({what}) is not set or empty")
        return found
    return None


def credentials(
    flavor: str,
    user: str | None,
    password_file: str | None,
    password_env: str | None,
    api_key_file: str | None,
    api_key_env: str | None,
) -> dict[str, str]:
    """The headers or basic-auth pair for the API (``user``/``password`` or ``key``)."""
    if password_file and password_env:
        raise StatusUsageError("--password-file and --password-env exclude each other")
    if api_key_file and api_key_env:
        raise StatusUsageError("--api-key-file and --api-key-env exclude each other")
    if flavor == "classic":
        if api_key_file or api_key_env:
            raise StatusUsageError("an API key is for Sensu Go (--api go); Classic uses --user")
        password = _read_secret(password_file, password_env, "password")
        if password is not None and user is None:
            raise StatusUsageError("a password needs --user")
        if user is not None and password is None:
            raise StatusUsageError(
                "--user needs a password: --password-file PATH or --password-env NAME"
            )
        return {"user": user, "password": password} if user and password else {}
    if user or password_file or password_env:
        raise StatusUsageError(
            "Sensu Go (--api go) takes an API key (--api-key-file or --api-key-env), not --user"
        )
    key = _read_secret(api_key_file, api_key_env, "API key")
    return {"key": key} if key else {}


def _excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


class SensuApi:
    def __init__(
        self,
        url: str,
        flavor: str,
        auth: dict[str, str],
        namespace: str = "default",
        timeout: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StatusUsageError(f"--sensu-api {url!r} is not an http:// or https:// URL")
        if parts.username or parts.password:
            raise StatusUsageError(
                "--sensu-api must not hold a user or password: use --user with "
                "--password-file/--password-env (Classic) or --api-key-file/--api-key-env (Go)"
            )
        self.url = url.rstrip("/")
        self.flavor = flavor
        self.auth = auth
        self.namespace = namespace
        self.timeout = timeout
        self._parts = parts
        self.base_path = parts.path.rstrip("/")
        self.ca_file = ca_file
        self.command_deadline: float | None = None  # set by the first request
        self.secrets = [v for k, v in auth.items() if k in ("password", "key") and v]
        if "user" in auth and auth.get("password"):  # the Authorization header's token
            pair = f"{auth['user']}:{auth['password']}".encode()
            self.secrets.append(base64.b64encode(pair).decode())
        self.sensu_total: int | None = None  # results Sensu's aggregate counts (Classic)
        self.runner: Found | None = None  # the batch runner check's own result
        self.now = 0.0  # the API's clock (its Date header), else this machine's

    def _get(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, Any]:
        """The decoded JSON of ``GET path`` and the response; 404 gives ``(None, response)``.

        An API that echoes the password or key back (in a reason phrase, a header, a body)
        never gets it printed: each error is redacted of them."""
        from mdd.checks.api import redact

        try:
            return self._get_unredacted(path, params)
        except ApiError as exc:
            raise ApiError(redact(str(exc), self.secrets)) from None

    def _redacted(self, text: str) -> str:
        """``text`` without the credentials: before any excerpt is cut from it."""
        from mdd.checks.api import redact

        return redact(text, self.secrets)

    def _get_unredacted(self, path: str, params: dict[str, Any] | None) -> tuple[Any, Any]:
        from urllib.parse import urlencode

        budget = self._budget(path)
        target = self.base_path + path + (f"?{urlencode(params)}" if params else "")
        headers = [("Accept", "application/json"), ("User-Agent", "mdd-status")]
        if "key" in self.auth:
            headers.append(("Authorization", f"Key {self.auth['key']}"))
        elif "user" in self.auth:
            pair = f"{self.auth['user']}:{self.auth['password']}".encode()
            headers.append(("Authorization", "Basic " + base64.b64encode(pair).decode()))
        try:
            response = self._exchange(target, headers, budget.deadline)
        except _Late as exc:
            what = "did not answer" if exc.phase == "head" else "did not send all of its answer to"
            raise ApiError(
                f"the Sensu API at {self.url} {what} GET {path} within {budget.within}"
            ) from None
        return self._answer(path, response)

    def _budget(self, path: str) -> _Budget:
        """The time GET ``path`` may take: its --request-timeout, within the command's."""
        from mdd.checks.api import duration_text

        now = time.monotonic()
        if self.command_deadline is None:
            self.command_deadline = now + self.timeout * COMMAND_REQUESTS
        if now >= self.command_deadline:
            raise ApiError(
                f"reading the Sensu API at {self.url} took over "
                f"{duration_text(self.timeout * COMMAND_REQUESTS)} in all ({COMMAND_REQUESTS} "
                f"times --request-timeout): stopped before GET {path}"
            )
        whole = self.command_deadline < now + self.timeout
        deadline = min(now + self.timeout, self.command_deadline)
        within = (
            f"{duration_text(self.timeout * COMMAND_REQUESTS)} in all"
            if whole
            else duration_text(self.timeout)
        )
        return _Budget(deadline, within)

    def _answer(self, path: str, response: Any) -> tuple[Any, Any]:
        """``_get``'s answer from the API's ``response``; ``ApiError`` for a refusal, an
        error status or a body that is not JSON."""
        code = response.status
        reason = self._redacted(response.reason.strip())[:100]
        if code in (401, 403):
            who = (
                "the API key"
                if "key" in self.auth
                else "--user and its password"
                if self.auth
                else "no credentials were given"
            )
            raise ApiError(
                f"the Sensu API at {self.url} refused GET {path}: {code} {reason} ({who})".replace(
                    "  ", " "
                )
            )
        if code == 404:
            return None, response
        text = _decoded(response, self.url, path).decode("utf-8", "replace")
        if code >= 300:
            text = self._redacted(text[:4096])
            body = f": {_excerpt(text)}" if text.strip() else ""
            raise ApiError(
                f"the Sensu API at {self.url} answered GET {path} with {code} "
                f"{reason}{body}".replace("  ", " ")
            )
        try:
            return json.loads(text), response
        except RecursionError:
            raise ApiError(
                f"the Sensu API at {self.url} answered GET {path} with JSON nested deeper than "
                f"Python reads (about {sys.getrecursionlimit()} levels)"
            ) from None
        except ValueError:
            raise ApiError(
                f"the Sensu API at {self.url} answered GET {path} with something that is not "
                f"JSON: {_excerpt(self._redacted(text[:4096]))}"
            ) from None

    def _exchange(self, target: str, headers: list[tuple[str, str]], deadline: float) -> Any:
        """One GET of ``target`` (path and query) and its whole response, by ``deadline``,
        with the checks' own HTTP reader (``mdd.checks.api.http_get``)."""
        from mdd.checks.api import HttpGetFailed as GetFailed
        from mdd.checks.api import http_get as get

        parts = self._parts
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            response = get(
                parts.scheme, host, port, target, headers, deadline, RESPONSE_LIMIT, self.ca_file
            )
        except GetFailed as exc:
            if exc.late:
                raise _Late(exc.stage) from None
            if exc.stage == "setup":
                raise ApiError(str(exc).replace("ca_file", "--ca-file")) from None
            if exc.stage == "connect":
                raise ApiError(f"cannot reach the Sensu API at {self.url}: {exc}") from None
            if exc.stage == "tls":
                raise ApiError(f"TLS with the Sensu API at {self.url} failed: {exc}") from None
            if str(exc).startswith("a malformed"):
                raise ApiError(f"the Sensu API at {self.url} sent {exc}") from None
            raise ApiError(f"the Sensu API at {self.url} dropped the connection: {exc}") from None
        if response.truncated:
            raise ApiError(
                f"the Sensu API at {self.url} answered with more than {_size(RESPONSE_LIMIT)}: "
                f"nothing past that is read"
            )
        return response

    def _clock(self, response: Any) -> None:
        import contextlib
        import time
        from email.utils import parsedate_to_datetime

        self.now = time.time()
        date = response.get("Date") if response is not None else None
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.now = parsedate_to_datetime(date).timestamp()

    def results(self, manifest: Manifest) -> dict[str, Found]:
        """Each point's result found in Sensu, by point name (and the batch runner's own
        result in ``runner``)."""
        if self.flavor == "go":
            return self._go_results(manifest)
        return self._classic_results(manifest)

    def _classic_results(self, manifest: Manifest) -> dict[str, Found]:
        info, _ = self._get("/info")
        version = info.get("sensu", {}).get("version") if isinstance(info, dict) else None
        if info is None or not isinstance(version, str):
            raise ApiError(
                f"{self.url} is not a Sensu Classic API (GET /info has no sensu.version); "
                f"for a Sensu Go backend use --api go"
            )
        if not version.startswith("1."):
            raise ApiError(
                f"{self.url} is Sensu {version}; mdd status reads the Sensu Classic 1.x API "
                f"(for Sensu Go use --api go)"
            )
        body, response = self._get("/results")
        self._clock(response)
        if not isinstance(body, list):
            raise ApiError(f"the Sensu API at {self.url} answered GET /results with no list")
        names = {manifest.check_name(p): p.name for p in manifest.points}
        runner = manifest.batch_runner
        found: dict[str, Found] = {}
        for item in body:
            check = item.get("check") if isinstance(item, dict) else None
            if isinstance(check, dict) and check.get("name") == runner:
                self.runner = _found(check, check.get("history"))
            if not isinstance(check, dict) or check.get("name") not in names:
                continue  # another check: any real Sensu has them
            found[names[check["name"]]] = _found(check, check.get("history"))
        aggregate, _ = self._get(f"/aggregates/{manifest.aggregate}")
        counts = aggregate.get("results") if isinstance(aggregate, dict) else None
        if isinstance(counts, dict) and isinstance(counts.get("total"), int):
            self.sensu_total = counts["total"]
        return found

    def _go_results(self, manifest: Manifest) -> dict[str, Found]:
        from urllib.parse import quote

        path = f"/api/core/v2/namespaces/{quote(self.namespace, safe='')}/events"
        names = {manifest.check_name(p): p.name for p in manifest.points}
        runner = manifest.batch_runner
        found: dict[str, Found] = {}
        params: dict[str, Any] = {"limit": PAGE}
        tokens: set[str] = set()
        for _ in range(PAGE_LIMIT):
            body, response = self._get(path, params)
            self._clock(response)
            if body is None:
                raise ApiError(
                    f"{self.url} has no Sensu Go events API ({path} answered 404: no namespace "
                    f"{self.namespace!r}, or not a Sensu Go backend; for Classic use --api classic)"
                )
            if not isinstance(body, list):
                raise ApiError(
                    f"{self.url} answered {path} with no list of events: is it a Sensu Go 5.x/6.x "
                    f"backend?"
                )
            for event in body:
                check = event.get("check") if isinstance(event, dict) else None
                meta = check.get("metadata") if isinstance(check, dict) else None
                name = meta.get("name") if isinstance(meta, dict) else None
                if not isinstance(check, dict) or (name not in names and name != runner):
                    continue
                entries = [h for h in check.get("history") or [] if isinstance(h, dict)]
                history = [h.get("status") for h in entries]
                item = _found(check, history)
                if len(item.history) == len(entries):
                    item.times = [_number(h.get("executed")) for h in entries]
                if name == runner:
                    self.runner = item
                else:
                    found[names[name]] = item
            token = response.get("Sensu-Continue")
            if not token:
                return found
            if token in tokens:
                raise ApiError(
                    f"{self.url} sent the same Sensu-Continue token twice for {path}: its "
                    f"pages would never end"
                )
            tokens.add(token)
            params = {"limit": PAGE, "continue": token}
        raise ApiError(
            f"{self.url} has more than {PAGE_LIMIT} pages of {PAGE} events in namespace "
            f"{self.namespace!r} (over {PAGE_LIMIT * PAGE:,} events): mdd status stops there"
        )


def _int(value: Any) -> int | None:
    """A whole number of seconds Sensu sent (a ttl), or None past ``EXECUTED_LIMIT``."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if 0 <= value <= EXECUTED_LIMIT else None


def _found(check: dict[str, Any], history: Any) -> Found:
    runner = check.get("mdd_runner")  # Classic: a batch result's attribute
    metadata = check.get("metadata")
    if runner is None and isinstance(metadata, dict):  # Sensu Go: an annotation
        annotations = metadata.get("annotations")
        runner = annotations.get("mdd_runner") if isinstance(annotations, dict) else None
    status = check.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        status = State.UNKNOWN
    executed = check.get("executed")
    ints = [
        int(item)
        for item in (history if isinstance(history, list) else [])[-100:]
        if isinstance(item, int | str)
        and not isinstance(item, bool)
        and str(item).isdigit()
        and len(str(item)) < 4
    ]
    output = check.get("output")
    return Found(
        status if 0 <= status <= 255 else State.UNKNOWN,
        output[:4096] if isinstance(output, str) else "",
        _number(executed),
        ints,
        _number(check.get("interval")),
        None,
        _int(check.get("ttl")),
        bool(check.get("cron")),
        runner if isinstance(runner, str) else None,
    )


def _number(value: Any) -> float | None:
    """A time (seconds since 1970) or an interval Sensu sent, or None: NaN, infinity, a
    negative number or one past ``EXECUTED_LIMIT`` (``1e308``) is not a time."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if not 0 <= value <= EXECUTED_LIMIT:
        return None
    return float(value)


_PREFIX = re.compile(r"^\S+ (?:OK|WARNING|CRITICAL|UNKNOWN): ")


def reason_from_output(output: str, point: str) -> str:
    """``TcpCheck CRITICAL: ldap-port: x refused | perf`` -> ``x refused``."""
    text = " ".join(output.split())
    text = text.split(" | ", 1)[0]
    text = _PREFIX.sub("", text, count=1)
    if text.startswith(f"{point}: "):
        text = text[len(point) + 2 :]
    return text or "(no output)"


def _seconds(value: float) -> str:
    from mdd.checks.api import duration_text

    return duration_text(float(round(value)))


def stale_reason(item: Found, now: float, check: str) -> str:
    """What a stale result's reason starts with: how old, the limit, where to look."""
    age, limit = item.age(now) or 0.0, item.limit() or 0
    why = f"ttl {_seconds(limit)}" if item.ttl else f"twice its interval, {_seconds(limit)}"
    look = (
        f"look at the runner check {item.runner}"
        if item.runner
        else f"look at the agent that runs {check}"
    )
    return f"stale: no result for {_seconds(age)} ({why}): {look}"


def views(
    manifest: Manifest,
    selected: Sequence[IntegrationPoint],
    found: dict[str, Found],
    state: StateFile,
    now: float | None = None,
) -> list[PointView]:
    """The selected points' views from what Sensu holds, recorded into ``state``. A result
    older than its ttl (or twice its interval) at ``now`` is stale: never green, and its
    reason says so first."""
    import time

    clock = time.time() if now is None else now
    green = {name for name, item in found.items() if item.status == 0 and not item.stale(clock)}
    result: list[PointView] = []
    for point in selected:
        item = found.get(point.name)
        blocked_by = tuple(dep for dep in point.depends_on if dep not in green)
        if item is None:
            outcome = Outcome(point, None, blocked_by)
            reason = (
                f"no result in Sensu for {manifest.check_name(point)} yet (are the generated "
                f"checks loaded?)"
            )
            if blocked_by:
                reason = f"blocked by {', '.join(blocked_by)}; {reason}"
            view, _ = state.record(outcome, reason=reason)
        else:
            state_value = State(item.status) if item.status in (0, 1, 2, 3) else State.UNKNOWN
            reason = reason_from_output(item.output, point.name)
            if item.stale(clock):
                reason = f"{stale_reason(item, clock, manifest.check_name(point))}; last: {reason}"
                if state_value is State.OK:
                    state_value = State.UNKNOWN  # an old OK says nothing about now
            outcome = Outcome(point, Result(state_value, reason), blocked_by)
            # Sensu's history (the last 21 results) shows a point that was green before.
            view, _ = state.record(outcome, at=item.executed, was_green=0 in item.history)
            view.status = int(state_value)
        result.append(view)
    _sample(manifest, state, result)
    return result


def summary_lines(manifest: Manifest, found: dict[str, Found], api: SensuApi) -> list[str]:
    """The lines beside the board: the manifest's points as Sensu holds them (only the
    manifest's: Sensu's own aggregate also counts results of checks no longer in it), how
    many results are stale, and the batch runner's health."""
    now = api.now
    total = len(manifest.points)
    fresh = {n: f for n, f in found.items() if not f.stale(now)}
    ok = sum(1 for f in fresh.values() if f.status == 0)
    stale = len(found) - len(fresh)
    line = f"Sensu: {ok} of {total} points ok"
    extra = []
    if stale:
        extra.append(f"{stale} stale")
    if total - len(found):
        extra.append(f"{total - len(found)} without a result")
    if api.sensu_total is not None and api.sensu_total != len(found):
        extra.append(
            f"Sensu's aggregate {manifest.aggregate} counts {api.sensu_total} results: "
            f"it holds checks this manifest no longer has"
            if api.sensu_total > len(found)
            else f"Sensu's aggregate {manifest.aggregate} counts {api.sensu_total} results"
        )
    lines = [line + (f" ({'; '.join(extra)})" if extra else "")]
    runner = manifest.batch_runner
    expected = api.runner is not None or any(f.runner for f in found.values())
    if api.runner is not None:
        item = api.runner
        age = item.age(now)
        when = f"{_seconds(age)} ago" if age is not None else "at an unknown time"
        output = " ".join(item.output.split())
        if item.stale(now):
            lines.append(
                f"runner {runner}: STALE, last ran {when} ({_seconds(item.limit() or 0)} "
                f"allowed): is it still scheduled, and its agent running? last said: {output}"
            )
        else:
            name = State(item.status).name if item.status in (0, 1, 2, 3) else "UNKNOWN"
            lines.append(f"runner {runner}: {name}, ran {when}: {output}")
    elif expected:
        lines.append(f"runner {runner}: no result in Sensu (batch results name it)")
    return lines


def _sample(manifest: Manifest, state: StateFile, shown: Iterable[PointView]) -> None:
    by_name = {view.point.name: view for view in shown}
    state.sample(by_name.get(p.name) or state.view(p) for p in manifest.points)
