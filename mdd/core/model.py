"""The validated manifest: what the generator and the views work from.

``mdd.manifest.load`` builds these from a YAML file after every check has passed; nothing
here is ever half-valid. Values are canonical (durations in seconds, check options as the
check type's ``Option.load`` returns them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A point's deployment state: the words, declared in mdd.core.deployment.
from mdd.core.deployment import BLOCKED as BLOCKED
from mdd.core.deployment import GREEN as GREEN
from mdd.core.deployment import PENDING as PENDING
from mdd.core.deployment import REGRESSED as REGRESSED
from mdd.core.deployment import UNKNOWN as UNKNOWN


@dataclass(frozen=True)
class SensuSettings:
    """How Sensu schedules and handles a check; defaults, then per-point overrides."""

    interval: int = 60  # seconds; not used when ``cron`` is set
    cron: str | None = None  # a 5-field cron schedule, in place of the interval
    timeout: int | None = 30  # seconds; Sensu kills the check after this
    handlers: tuple[str, ...] | None = None  # None: Sensu's handler named "default"
    occurrences: int | None = None
    refresh: int | None = None  # seconds
    ttl: int | None = None  # seconds
    subscribers: tuple[str, ...] = ()  # empty: standalone checks (Sensu Go: mdd-<dc>)
    round_robin: bool = False  # one agent of the subscription runs each execution
    runtime_assets: tuple[str, ...] = ()  # Sensu Go assets the command runs from
    command_prefix: str | None = None  # absolute folder of check-mdd-*; None: the client's PATH


@dataclass(frozen=True)
class IntegrationPoint:
    name: str
    type: str
    options: dict[str, Any]  # canonical values of the check type's options
    owner: str | None = None
    description: str | None = None
    docs: str | None = None
    depends_on: tuple[str, ...] = ()
    sensu: SensuSettings = field(default_factory=SensuSettings)
    line: int = 0  # where the point starts in the manifest, for messages


@dataclass(frozen=True)
class Manifest:
    path: Path
    datacenter: str
    description: str | None
    points: tuple[IntegrationPoint, ...]

    @property
    def client(self) -> str:
        """The Sensu proxy client that groups this datacenter's points in Uchiwa."""
        return f"mdd-{self.datacenter}"

    @property
    def batch_runner(self) -> str:
        """Batch mode's runner check (``mdd-`` then ``batch``: never a point's
        ``mdd_<dc>_<p>``)."""
        return f"mdd-batch-{self.datacenter}"

    @property
    def aggregate(self) -> str:
        """The Sensu aggregate whose counts read "N of M green" for this datacenter."""
        return f"mdd_{self.datacenter}"

    def check_name(self, point: IntegrationPoint) -> str:
        """The Sensu check name of a point; it names the datacenter too."""
        return f"mdd_{self.datacenter}_{point.name}"
