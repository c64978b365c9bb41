"""When a cron point is due: the 5-field schedules a manifest may hold (both Sensus read them).

The batch runner probes a cron point when one of its schedule's minutes fell since its last
probe, as the agent would have started its command then; ``mdd generate --batch`` gives the
point's results a ``ttl`` from the longest gap between two of its runs. Times are the agent's
local time (as Sensu Classic's and Sensu Go's schedulers read a cron), or the zone a Sensu Go
``CRON_TZ=``/``TZ=`` prefix names.
"""

from __future__ import annotations

import time

from mdd.core.cron import DAYS, MONTHS, NICKNAMES, RANGES

TYPE_CHECKING = False  # check-mdd-batch imports is_due on every run: datetime for cron only
if TYPE_CHECKING:
    from datetime import date, datetime, tzinfo

SCAN_LIMIT = 2 * 366 * 86400  # seconds of schedule looked at, at most: two years


class Schedule:
    """A parsed cron schedule; ``ValueError`` for one it cannot read."""

    def __init__(self, text: str) -> None:
        self.text = text
        source = text.strip()
        self.zone: tzinfo | None = None
        if source.startswith(("CRON_TZ=", "TZ=")):
            from zoneinfo import ZoneInfo

            zone, _, source = source.partition(" ")
            self.zone = ZoneInfo(zone.partition("=")[2])
            source = source.strip()
        source = NICKNAMES.get(source.lower(), source)
        fields = source.split()
        if len(fields) != 5:
            raise ValueError(f"{text!r} is not a 5-field cron schedule")
        self.sets = [
            _field(f, low, high, index)
            for index, (f, (low, high)) in enumerate(zip(fields, RANGES, strict=True))
        ]
        if 7 in self.sets[4]:
            self.sets[4].add(0)
        self.any_day = fields[2] in ("*", "?")
        self.any_weekday = fields[4] in ("*", "?")

    def _minutes(self, after: float, until: float) -> list[datetime]:
        """The scheduled minutes in (after, until], at most SCAN_LIMIT seconds of them
        (day by day: only a matching day's hours and minutes are looked at)."""
        from datetime import date, datetime

        after = max(after, until - SCAN_LIMIT)
        minutes, hours = sorted(self.sets[0]), sorted(self.sets[1])
        day = datetime.fromtimestamp(after, self.zone).date()
        last = datetime.fromtimestamp(until, self.zone).date()
        found = []
        while day <= last:
            if self._day(day):
                for hour in hours:
                    for minute in minutes:
                        moment = datetime(
                            day.year, day.month, day.day, hour, minute, tzinfo=self.zone
                        )
                        if after < moment.timestamp() <= until:
                            found.append(moment)
            day = date.fromordinal(day.toordinal() + 1)
        return found

    def _day(self, day: date) -> bool:
        _, _, days, months, weekdays = self.sets
        if day.month not in months:
            return False
        day_ok = day.day in days
        weekday_ok = (day.isoweekday() % 7) in weekdays
        if self.any_day or self.any_weekday:  # cron: either field restricts alone
            return day_ok and weekday_ok
        return day_ok or weekday_ok

    def fired(self, after: float, until: float) -> bool:
        """Whether a scheduled minute fell in (after, until]."""
        return bool(self._minutes(after, until))

    def longest_gap(self, start: float | None = None) -> int:
        """The longest time in seconds between two runs over the next SCAN_LIMIT (or the
        scan itself when it runs less often)."""
        begin = time.time() if start is None else start
        weekly = self.sets[2] >= set(range(1, 32)) and self.sets[3] >= set(range(1, 13))
        span = 15 * 86400 if weekly else SCAN_LIMIT  # a schedule of weekdays repeats weekly
        runs = [m.timestamp() for m in self._minutes(begin, begin + span)]
        if len(runs) < 2:
            return SCAN_LIMIT
        return int(max(b - a for a, b in zip(runs, runs[1:], strict=False)))


def is_due(
    every: int | None, cron: str | None, probed: float | None, now: float, slack: float
) -> bool:
    """Whether a point with this interval (``every`` seconds) or ``cron`` schedule, last
    probed at ``probed`` (None: never), is due at ``now``. ``slack``: half the runner's
    interval, as Sensu starts the runner a little early or late (a run covers the time up to
    ``now + slack``, the previous one covered up to ``probed + slack``)."""
    if probed is None or probed > now:
        return True
    if cron is not None:
        return Schedule(cron).fired(probed + slack, now + slack)
    return now + slack >= probed + (every or 0)


def _field(text: str, low: int, high: int, index: int) -> set[int]:
    names = MONTHS if index == 3 else DAYS if index == 4 else ()
    offset = 1 if index == 3 else 0
    values: set[int] = set()
    for item in text.lower().split(","):
        part, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"cron step {item!r}")
        if part in ("*", "?"):
            first, last = low, high
        else:
            first_text, dash, last_text = part.partition("-")
            first = _number(first_text, names, offset)
            last = _number(last_text, names, offset) if dash else (high if step_text else first)
        if not low <= first <= last <= high:
            raise ValueError(f"cron field {item!r} out of range")
        values.update(range(first, last + 1, step))
    return values


def _number(text: str, names: tuple[str, ...], offset: int) -> int:
    if text in names:
        return names.index(text) + offset
    if not text.isdigit():
        raise ValueError(f"cron value {text!r}")
    return int(text)
