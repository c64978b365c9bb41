"""What every check module uses to become a Sensu plugin, without loading the plugin.

* ``main_of``: a check module's ``main`` (its console script), which runs the module as
  ``MddCheck`` (``_sensu``: the one place where mdd's policy meets ``SensuPluginCheck``);
  sensu-plugin is imported only then, in the check's own process: the batch runner and
  ``mdd verify`` import the check modules to call their ``probe`` and never pay for it.
* ``check_label``: what a check's output starts with.
* ``Deadline`` and ``failed_result``: the backstop's exception and the one mapping of an
  exception to a ``Result``.
"""

from __future__ import annotations

import sys

from mdd.checks._result import Deadline, failed_result

# typing is needed by annotations only: not imported at run time (see _options).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Deadline", "check_label", "failed_result", "main_of"]


def check_label(check_type: str) -> str:
    """What a check's output starts with: ``TcpCheck OK: ...`` (sensu-plugin's check name)."""
    return f"{check_type.capitalize()}Check"


def main_of(module_name: str) -> Callable[[], None]:
    """The ``main`` of a check module (its console script's entry point), from the module's
    own declarations: ``TYPE``, ``OPTIONS``, its docstring (the help) and ``probe``. A check
    module's last line is ``main = main_of(__name__)``."""

    def main() -> None:
        from mdd.checks._sensu import MddCheck

        MddCheck(sys.modules[module_name])

    return main
