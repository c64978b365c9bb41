"""The ``mdd`` command's entry point: interrupted while still starting, it says so in one line.

Python turns SIGINT into ``KeyboardInterrupt`` from its first instruction; a Ctrl-C while
``mdd.cli`` and its libraries are still being imported would print an import traceback.
Until the command group runs (which handles SIGINT, SIGTERM and SIGHUP itself), SIGINT ends
the process with one line and exit status 130, like an interrupted command.
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
    try:
        from mdd.cli import main
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
