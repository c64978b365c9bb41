"""The options most check types share, typed for mypy: the bases of each type's ``Opts``.

Each check module declares its ``OPTIONS``, typed, as ``class Opts(<bases>, Protocol)`` under
``TYPE_CHECKING = False`` / ``if TYPE_CHECKING:``: for mypy only, no cost at run time (neither
``typing`` nor this module is imported when a check runs). Each base names one group of
options that several types declare alike (``_options.endpoint``, ``_steps.credentials``...),
so that an ``Opts`` names only the type's own. tests/test_typed_options.py reads a type's
``Opts`` with its bases and holds it to the type's ``OPTIONS``.
"""

from __future__ import annotations

from typing import Protocol


class Common(Protocol):
    """What every check has: ``point`` (COMMON_OPTIONS) and ``timeout``."""

    point: str | None
    timeout: float


class Timed(Common, Protocol):
    """A check whose ``warn`` and ``crit`` are thresholds on a time."""

    warn: float | None
    crit: float | None


class Server(Protocol):
    """The one server a check talks to: ``host`` and ``port`` (``_options.endpoint``)."""

    host: str
    port: int


class Endpoint(Timed, Server, Protocol):
    """A timed check of one server."""


class Password(Protocol):
    """``password``: a secret reference, read on the agent when the check runs."""

    password: tuple[str, str] | None


class Store(Endpoint, Password, Protocol):
    """A data store (``_steps.converse``)."""


class Login(Store, Protocol):
    """A data store logged in to as ``user`` (``_steps.credentials``)."""

    user: str


class Verifying(Protocol):
    """A check that verifies a server's certificate against ``ca_file`` or the system's CAs."""

    ca_file: str | None


class TlsFlag(Verifying, Protocol):
    """``tls`` on or off (``_steps.tls_options``)."""

    tls: bool
