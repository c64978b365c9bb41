"""Import ``SensuPluginCheck`` without the cost of the whole ``sensu_plugin`` package.

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
from importlib.machinery import PathFinder

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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

__all__ = ["SensuPluginCheck"]
