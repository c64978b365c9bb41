"""The public API of the checks (``mdd.checks.api``): what the generator, the runner, the
batch runner, the manifest reader and the docs use from ``mdd.checks``.

Nothing outside ``mdd.checks`` imports its ``_private`` modules (tests/test_private_imports.py
holds that): they may change shape freely behind this module. The check types themselves are
listed in ``mdd.checks.registry``.

* The option vocabulary: ``Option`` and its kinds (``HOST``, ``PORT``, ``DURATION``, ...),
  ``COMMON_OPTIONS``, ``to_argv`` (canonical values to the generated command line) and
  ``add_arguments``/``parse_known`` (the command line read back).
* What a probe returns: ``Result``, ``State``, ``Perf``; how a probe ends otherwise: the failure
  model (``CheckFailed``: the point failed, CRITICAL; ``CheckError``: the check could not
  decide, UNKNOWN; ``Deadline``: the backstop) and ``failed_result``, the one mapping of an
  exception to a ``Result``.
* Secrets: ``read_secret``, ``redact``, ``read_client_definition``.
* Text a server sent, safe to print: ``printable`` (control characters as escapes), the one
  escaping every check output and everything mdd prints uses.
* HTTP for mdd's own clients (``mdd status``): ``http_get`` and its ``HttpGetFailed``, the
  http check's reader (a deadline for the whole exchange, bounded head and body).
"""

from __future__ import annotations

from mdd.checks import _options
from mdd.checks._argv import Options, parse_known
from mdd.checks._base import check_label, main_of
from mdd.checks._net import host_port, split_address
from mdd.checks._options import *  # noqa: F403 - the option vocabulary: _options.__all__
from mdd.checks._result import (
    CUT,
    LINE_LIMIT,
    CheckError,
    CheckFailed,
    Deadline,
    Perf,
    Result,
    State,
    failed_result,
    no_answer,
    printable,
    threshold_state,
    timed_result,
    worst,
)
from mdd.checks._secrets import MASK, read_client_definition, read_secret, redact

__all__ = [
    "CUT",
    "LINE_LIMIT",
    "MASK",
    "CheckError",
    "CheckFailed",
    "Deadline",
    "HttpGetFailed",
    "LightParser",
    "MddCheck",
    "Options",
    "Perf",
    "Result",
    "State",
    "check_label",
    "failed_result",
    "host_port",
    "http_get",
    "main_of",
    "no_answer",
    "parse_known",
    "printable",
    "read_client_definition",
    "read_secret",
    "redact",
    "split_address",
    "threshold_state",
    "timed_result",
    "worst",
]
__all__ += _options.__all__

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mdd.checks._help import LightParser
    from mdd.checks._http_exchange import GetFailed as HttpGetFailed
    from mdd.checks._http_exchange import get as http_get
    from mdd.checks._sensu import MddCheck


def __getattr__(name: str) -> object:
    # Imported when asked for, never by importing this module (check-mdd-batch imports it on
    # every run): LightParser is argparse (a check's --help or error, the batch runner's
    # unusual command line), MddCheck is sensu-plugin (a check's own process), http_get the
    # http check's reader (mdd status).
    if name == "LightParser":
        from mdd.checks._help import LightParser

        return LightParser
    if name == "MddCheck":
        from mdd.checks._sensu import MddCheck

        return MddCheck
    if name in ("http_get", "HttpGetFailed"):
        from mdd.checks import _http_exchange

        return _http_exchange.get if name == "http_get" else _http_exchange.GetFailed
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
