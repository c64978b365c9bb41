"""Import ``SensuPluginCheck`` without the cost of the whole ``sensu_plugin`` package.

``sensu_plugin/__init__.py`` imports every part of the library, its handler module among
them, and with that ``requests`` and ``urllib3``: about 70 ms of CPU on every run of every
check on every agent, for code no check uses. Here the package is registered with its real
search path but without running its ``__init__``, so importing ``sensu_plugin.check`` loads
just ``check.py``, ``plugin.py`` and ``exithook.py``. If something has already imported the
full package, that one is used as it is.

It also gives sensu-plugin a parser that does not ask the terminal for its width: argparse's
help formatter otherwise imports ``shutil`` (and with it zlib, bz2, lzma), about 2 ms of every
run, to lay out a help text that a check run never prints. ``LightParser`` asks only when
help is really printed.
"""

from __future__ import annotations

import argparse
import sys
import types
from importlib.machinery import PathFinder

if "sensu_plugin" not in sys.modules:
    _spec = PathFinder.find_spec("sensu_plugin")
    if _spec is None or _spec.submodule_search_locations is None:
        raise ImportError("the sensu-plugin package is not installed (pip install sensu-plugin)")
    _package = types.ModuleType("sensu_plugin")
    _package.__path__ = list(_spec.submodule_search_locations)
    _package.__spec__ = _spec
    _package.__file__ = _spec.origin
    sys.modules["sensu_plugin"] = _package

import sensu_plugin.plugin  # noqa: E402
from sensu_plugin.check import SensuPluginCheck  # noqa: E402


class LightParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that measures the terminal only to print help."""

    _help_width = 100

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=self._help_width)  # type: ignore[call-arg]

    def format_help(self) -> str:
        import shutil

        self._help_width = max(shutil.get_terminal_size().columns - 2, 40)
        return super().format_help()


# sensu-plugin's plugin.py uses argparse for one thing: the parser that MddCheck.setup()
# replaces straight away.
sensu_plugin.plugin.argparse = types.SimpleNamespace(ArgumentParser=LightParser)

__all__ = ["LightParser", "SensuPluginCheck"]
