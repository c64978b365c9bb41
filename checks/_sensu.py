"""Import ``SensuPluginCheck`` without the cost of the whole ``sensu_plugin`` package.

``sensu_plugin/__init__.py`` imports every part of the library, its handler module among
them, and with that ``requests`` and ``urllib3``: about 70 ms of CPU on every run of every
check on every agent, for code no check uses. Here the package is registered with its real
search path but without running its ``__init__``, so importing ``sensu_plugin.check`` loads
just ``check.py``, ``plugin.py`` and ``exithook.py``. If something has already imported the
full package, that one is used as it is.
"""

from __future__ import annotations

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

from sensu_plugin.check import SensuPluginCheck  # noqa: E402

__all__ = ["SensuPluginCheck"]
