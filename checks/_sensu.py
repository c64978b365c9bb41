"""``MddCheck``: the one place where mdd's policy meets ``SensuPluginCheck``; imported only by
a check's own process (``_base.main_of``), never by the batch runner or ``mdd verify``.

* The command line is read by ``_argv.parse_known`` from the check type's ``OPTIONS``;
  argparse (``_help``) is built only for help, version and errors.
* A misspelt flag, a bad value or any exception is UNKNOWN (exit 3) with one line, never a
  traceback and never the CRITICAL that sensu-plugin would report for a crash.
* The whole probe is bounded by the check's ``timeout``: a backstop alarm covers the few
  calls that take no timeout of their own (name resolution).
* The probe returns a ``Result``; this class only prints it and exits with its state.

``SensuPluginCheck`` is imported without the cost of the whole ``sensu_plugin`` package.
``sensu_plugin/__init__.py`` imports every part of the library, its handler module among
them, and with that ``requests`` and ``urllib3``: 442 million instructions on its own, four
times a whole check-mdd-tcp run (issue 15), on every run of every check on every agent, for
code no check uses. Here the package is registered with its real
search path but without running its ``__init__``, so importing ``sensu_plugin.check`` loads
just ``check.py``, ``plugin.py`` and ``exithook.py``. If something has already imported the
full package, that one is used as it is.

``plugin.py`` imports ``argparse`` and ``traceback`` at its top, for two things a working
check never does: build the parser that ``MddCheck.setup()`` replaces straight away, and
format the traceback of a crash (``MddCheck`` catches every exception itself). Those two
imports (with ``gettext``, ``locale``, ``textwrap``, ``linecache`` and ``tokenize``) cost a
check-mdd-tcp run 23 million instructions, 23% of it (5.6 ms of 26 ms CPU; issue 15, see
docs/performance.md), so ``plugin.py`` is given stand-ins that import the real module at
first use.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from importlib.machinery import PathFinder

from mdd import __version__
from mdd.checks._argv import Options, parse_known
from mdd.checks._base import check_label
from mdd.checks._options import COMMON_OPTIONS, SECRET, Option
from mdd.checks._result import Deadline, Result, State, failed_result

# typing is needed by annotations only: not imported at run time (see _options).
TYPE_CHECKING = False
if not TYPE_CHECKING:
    # The backstop alarm needs signal() and setitimer() only: they are the C module's.
    # ``signal.py`` wraps it and turns every signal number into an enum on import, 3.5
    # million instructions a check run (valgrind), 3.5% of a tcp check; no check imports it
    # (check_command and check_icmp do, through subprocess, when they run).
    # tests/test_imports.py holds a check run to it.
    import _signal as signal
if TYPE_CHECKING:
    import argparse
    import signal
    from collections.abc import Callable
    from types import FrameType
    from typing import Any, NoReturn

    Probe = Callable[[Options], Result]


class _Deferred(types.ModuleType):
    """Stands in for a module in ``plugin.py``; the real one is imported at first use."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        __import__(name)
        return getattr(sys.modules[name], attr)


class _NoParser:
    """What ``SensuPlugin.__init__`` makes before ``MddCheck.setup()`` sets the real parser."""


if "sensu_plugin" not in sys.modules:
    _spec = PathFinder.find_spec("sensu_plugin")
    if _spec is None or _spec.submodule_search_locations is None:
        raise ImportError("the sensu-plugin package is not installed", name="sensu_plugin")
    _package = types.ModuleType("sensu_plugin")
    _package.__path__ = list(_spec.submodule_search_locations)
    _package.__spec__ = _spec
    _package.__file__ = _spec.origin
    sys.modules["sensu_plugin"] = _package

_stand_ins = {}
if "sensu_plugin.plugin" not in sys.modules:
    for _name in ("argparse", "traceback"):
        if _name not in sys.modules:
            sys.modules[_name] = _stand_ins[_name] = _Deferred(_name)
try:
    import sensu_plugin.plugin
    from sensu_plugin.check import SensuPluginCheck
finally:  # the stand-ins serve plugin.py only: any other import gets the real module
    for _name, _module in _stand_ins.items():
        if sys.modules.get(_name) is _module:
            del sys.modules[_name]

sensu_plugin.plugin.argparse = types.SimpleNamespace(ArgumentParser=_NoParser)

__all__ = ["MddCheck", "SensuPluginCheck"]

# Time allowed past the check's own timeout before the backstop alarm fires.
_GRACE = 0.5


class _Parser:
    """The parser ``SensuPlugin.__init__`` asks for ``parse_known_args()``: a plain command
    line is read directly; anything else by the argparse parser of ``_help``, built from the
    same declarations only then."""

    def __init__(self, check: MddCheck) -> None:
        self._check = check

    def parse_known_args(self, argv: Sequence[str] | None = None) -> tuple[Options, list[str]]:
        words = sys.argv[1:] if argv is None else list(argv)
        options = COMMON_OPTIONS + self._check.OPTIONS
        opts = parse_known(options, words)
        if opts is not None:
            return opts, []
        return self._check.argparse_parser().parse_known_args(words)


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Deadline()


class MddCheck(SensuPluginCheck):  # type: ignore[misc]  # sensu-plugin has no type hints
    """The Sensu plugin of a check module (``main_of``), or the base of a check class that
    sets ``OPTIONS``, ``DOC`` and ``probe`` itself."""

    OPTIONS: tuple[Option, ...] = ()
    DOC: str = ""
    LABEL: str = ""

    def __init__(self, module: Any = None) -> None:
        if module is not None:
            self.OPTIONS = module.OPTIONS
            self.DOC = module.__doc__ or ""
            self.LABEL = check_label(module.TYPE)
            self._probe: Probe = module.probe
        super().__init__()  # reads the command line, runs, exits

    def probe(self, opts: Options) -> Result:
        return self._probe(opts)

    def check_name(self, name: str | None = None) -> str:
        """The name the output starts with: the check type's label (``TcpCheck``), or a
        check class's own name."""
        return self.LABEL or str(super().check_name(name))

    def setup(self) -> None:
        # SensuPlugin made a placeholder parser; this one reports bad arguments as UNKNOWN.
        self.parser = _Parser(self)

    def argparse_parser(self) -> argparse.ArgumentParser:
        """The argparse parser of this check: its help, its version, its error messages."""
        import argparse

        from mdd.checks._argv import add_arguments, plain_help
        from mdd.checks._help import CheckParser

        parser = CheckParser(
            self._fail,
            prog=sys.argv[0].rsplit("/", 1)[-1],
            description=plain_help(self.DOC, COMMON_OPTIONS + self.OPTIONS),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument(
            "--version", action="version", version=f"%(prog)s (mdd-sensu) {__version__}"
        )
        add_arguments(parser, COMMON_OPTIONS + self.OPTIONS)
        return parser

    def _fail(self, message: str) -> NoReturn:
        self.unknown(Result(State.UNKNOWN, message).line())  # one bounded line
        raise AssertionError("unreachable")  # unknown() exits

    def run(self) -> None:
        opts = self.options
        if self.remain:
            shown = " ".join(self._shown_remain())
            self._fail(f"unexpected arguments: {shown}{self._hint()} (see --help)")
        if any(
            opt.kind is SECRET and (getattr(opts, opt.name, None) or ("",))[0] == "client"
            for opt in self.OPTIONS
        ):
            from mdd.checks._secrets import read_client_definition

            read_client_definition()
        timeout: float | None = getattr(opts, "timeout", None)
        if timeout:
            # The backstop: a moment after the deadline, for calls that take no timeout.
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout + _GRACE)
        try:
            try:
                result = self.probe(opts)
            finally:  # first of all: an alarm must not fire while the outcome is handled
                if timeout:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except (Exception, Deadline) as exc:
            result = failed_result(exc, timeout)
        self.report(result, getattr(opts, "point", None))

    def _secret_flags(self) -> set[str]:
        return {opt.flag for opt in self.OPTIONS if opt.kind is SECRET}

    def _shown_remain(self) -> list[str]:
        """The unexpected words, with the value after a secret's bare flag (``--password
        hunter2``) hidden: a secret typed on the command line must not reach the output."""
        secret = self._secret_flags()
        shown: list[str] = []
        hide_next = False
        for word in self.remain:
            flag = word.split("=", 1)[0]
            if hide_next:
                shown.append("[secret]")
                hide_next = False
            elif flag in secret:
                shown.append(f"{flag}=[secret]" if "=" in word else word)
                hide_next = "=" not in word
            else:
                shown.append(word)
        return shown

    def _hint(self) -> str:
        """`` (did you mean --timeout?)`` for a misspelt flag; only paid on that error."""
        import difflib

        secret = self._secret_flags()
        for word in self.remain:
            flag = word.split("=", 1)[0]
            if flag in secret:
                return (
                    f" (a secret never goes on the command line: use {flag}-file PATH or "
                    f"{flag}-env NAME)"
                )
        # Compared without the leading "--" that every flag shares (with it, --bogus is
        # close enough to --host).
        names = [opt.flag[2:] for opt in COMMON_OPTIONS + self.OPTIONS]
        for word in self.remain:
            if word.startswith("--"):
                close = difflib.get_close_matches(word.split("=", 1)[0][2:], names, n=1)
                if close:
                    return f" (did you mean --{close[0]}?)"
        return ""

    def report(self, result: Result, point: str | None = None) -> None:
        emit = {
            State.OK: self.ok,
            State.WARNING: self.warning,
            State.CRITICAL: self.critical,
            State.UNKNOWN: self.unknown,
        }[result.state]
        # A terminal or locale that is not UTF-8 (LANG=en_US.ISO-8859-1, PYTHONIOENCODING=ascii)
        # would make print() raise on a quoted body, and sensu-plugin report a traceback.
        reconfigure = getattr(sys.stdout, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
        emit(result.line(point))
