"""The ``mdd`` command's entry point: interrupted while still starting, it says so in one line.

Python turns SIGINT into ``KeyboardInterrupt`` from its first instruction; a Ctrl-C while
``mdd.cli`` and its libraries are still being imported would print an import traceback.
Until the command group runs (which handles SIGINT, SIGTERM and SIGHUP itself, and puts this
handler back when it returns), SIGINT ends the process with one line and exit status 130, like
an interrupted command. The handler is never set back to Python's default here: a SIGINT just
after the import would otherwise reach ``main()`` as a ``KeyboardInterrupt`` outside the
command group, with a traceback.
"""

from __future__ import annotations

import signal
import sys


def _interrupted(signum: int, frame: object) -> None:
    sys.stderr.write(f"mdd: interrupted by {signal.Signals(signum).name}\n")
    raise SystemExit(130)


def run() -> None:
    """``mdd``: import the command line interface, then run it."""
    signal.signal(signal.SIGINT, _interrupted)
    from mdd.cli import main

    main()
