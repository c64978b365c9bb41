"""The time mdd's progress views read, and how they show it.

``now()`` is the machine's clock. One hidden test hook exists: when the environment variable
``MDD_NOW`` holds an ISO 8601 time (``2026-12-01T09:00:00Z``) or seconds since the epoch, the
clock stands still at that time for the whole process. The tests use it to build a bring-up's
history from real ``mdd verify`` runs "minutes apart" without waiting minutes, and get the
same figures however busy the machine is; it is not a user option
(see docs/verify.md, "Testing with a fixed clock").

Times are shown in one time zone, the user's choice (``--tz``; default the machine's): as
``2026-12-01 10:00`` for people, as ISO 8601 with the zone's offset for machines.
"""

from __future__ import annotations

import calendar
import os
import time
from datetime import datetime, timedelta, timezone, tzinfo

ENV = "MDD_NOW"


class ClockError(Exception):
    """A time or zone that cannot be read; the message says which and what is expected."""


def parse_time(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (``Z`` or an offset; none: UTC), or of a
    number of seconds. Raises ``ClockError``."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ClockError(
            f"{text!r} is not an ISO 8601 time (such as 2026-12-01T09:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def now() -> float:
    """Seconds since the epoch: the machine's clock, or ``MDD_NOW`` standing still (the test
    hook)."""
    fixed = os.environ.get(ENV)
    if not fixed:
        return time.time()
    try:
        return parse_time(fixed)
    except ClockError:
        return time.time()


def seconds_of(stamp: object) -> float | None:
    """Seconds since the epoch of a state file's time (``2026-12-01T09:00:00Z``), or None."""
    if not isinstance(stamp, str):
        return None
    try:
        return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        try:
            return parse_time(stamp)
        except ClockError:
            return None


def zone(name: str | None) -> tzinfo:
    """The time zone ``--tz NAME`` names (IANA such as ``Europe/Amsterdam``, ``UTC``, or an
    offset such as ``+02:00``); None: the machine's. Raises ``ClockError``."""
    if name is None or name == "local":
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else timezone.utc
    if name.upper() in ("UTC", "Z"):
        return timezone.utc
    if name[:1] in "+-" and len(name) in (3, 6):
        try:
            sign = -1 if name[0] == "-" else 1
            hours, minutes = int(name[1:3]), int(name[4:6] or 0) if len(name) == 6 else 0
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
        except ValueError:
            pass
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(
            f"--tz {name!r} is not a time zone (an IANA name such as Europe/Amsterdam, UTC, "
            f"or an offset such as +02:00)"
        ) from None


def iso(seconds: float | None, tz: tzinfo) -> str | None:
    """ISO 8601 with the zone's offset, to the second: ``2026-12-01T10:00:00+01:00``."""
    if seconds is None:
        return None
    text = datetime.fromtimestamp(int(seconds), tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def shown(seconds: float | None, tz: tzinfo) -> str:
    """For people: ``2026-12-01 10:00`` in the zone (``-`` for no time)."""
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, tz).strftime("%Y-%m-%d %H:%M")


def zone_label(tz: tzinfo) -> str:
    """The zone's name as shown under a board (``Europe/Amsterdam``, ``UTC``, ``+02:00``)."""
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key
    return datetime.now(tz).strftime("%Z") or str(tz)


def span(seconds: float | None) -> str:
    """A duration for people: ``45s``, ``12m``, ``3h05m``, ``2d04h`` (``-`` for none)."""
    if seconds is None:
        return "-"
    whole = max(int(seconds), 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes}m" if not secs else f"{minutes}m{secs:02d}s"
    if whole < 86400:
        hours, rest = divmod(whole, 3600)
        return f"{hours}h{rest // 60:02d}m"
    days, rest = divmod(whole, 86400)
    return f"{days}d{rest // 3600:02d}h"
