"""The ``mdd`` command line: the command group, and its commands gathered from one module per
family (``generate``; ``manifests``: validate, render, diff, init, docs, schema; ``bundled``:
types, asset; ``verify``; ``report``; ``status``). Every command imports its heavy
modules inside itself, so ``mdd --help`` loads click and these small modules only."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from mdd import __version__
from mdd.cli._common import Exit, fail

# errno values of a write to standard output that cannot succeed: a full disk (> /dev/full),
# a closed pipe (| head), a quota, a revoked terminal.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EPIPE, errno.EDQUOT, errno.EFBIG, errno.EIO})


ALIASES = {"checks": "types"}  # old names: they work, and are not listed


def first_sentence(text: str) -> str:
    """A command's summary: the first sentence of its help, whole (never cut mid-sentence)."""
    import re

    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    end = re.search(r"(?<!\.)\.(?!\.)(?=\s|$)", paragraph)  # a period, not an ellipsis
    return paragraph if end is None else paragraph[: end.end()]


class _Main(click.Group):
    """The command group: a failed write to standard output (exit status 2), SIGTERM or
    SIGHUP (130) end any command with one line on standard error, never a traceback (files
    are written by ``write_atomically``, which leaves the previous file as it was). Any other
    exception is a bug in mdd: one line asking for a report, exit status 70, the traceback
    only with ``--debug`` (or MDD_DEBUG=1)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole first sentence, wrapped; aliases left out."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden or name in ALIASES:
                continue
            rows.append((name, command.short_help or first_sentence(command.help or "")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return self._invoke(ctx)
        except click.ClickException as exc:  # a refused value: a usage problem, status 2
            exc.exit_code = Exit.USAGE  # type: ignore[misc]  # a class default in click
            raise
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("mdd: interrupted by SIGINT", err=True)
            sys.exit(Exit.INTERRUPTED)
        except Exception as exc:  # anything else is a bug in mdd
            _bug(exc, ctx)

    def _invoke(self, ctx: click.Context) -> Any:
        # SIGINT becomes KeyboardInterrupt here (``verify --watch`` saves its state on it;
        # ``invoke`` turns it into one line and status 130); the entry point's handler, which
        # ends a run still starting, comes back when the command returns.
        handlers: dict[signal.Signals, Callable[[int, Any], Any]] = {
            signal.SIGINT: signal.default_int_handler,
            signal.SIGTERM: _interrupted,
            signal.SIGHUP: _interrupted,
        }
        previous = {}
        for signum, handler in handlers.items():
            with contextlib.suppress(ValueError):  # not the main thread: leave them be
                previous[signum] = signal.signal(signum, handler)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS or exc.filename is not None:
                raise
            _output_failed(exc)
        finally:
            for signum, earlier in previous.items():
                signal.signal(signum, earlier)


def _interrupted(signum: int, frame: object) -> NoReturn:
    # SystemExit unwinds like an exception: a file being written is removed, the old one kept.
    click.echo(f"mdd: interrupted by {signal.Signals(signum).name}", err=True)
    sys.exit(Exit.INTERRUPTED)


def _bug(exc: Exception, ctx: click.Context) -> NoReturn:
    debug = bool(ctx.find_root().params.get("debug")) or bool(os.environ.get("MDD_DEBUG"))
    if debug:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    where = " (the traceback is above)" if debug else "; run again with --debug for the traceback"
    click.echo(
        f"mdd: unexpected error (a bug in mdd): {type(exc).__name__}: {exc}{where}. "
        f"Please report it with the command you ran.",
        err=True,
    )
    sys.exit(Exit.BUG)


def _output_failed(exc: OSError) -> NoReturn:
    with contextlib.suppress(OSError):  # the interpreter's last flush would fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    fail(f"cannot write to standard output: {exc.strerror or exc}")


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mdd")
@click.option(
    "--debug",
    is_flag=True,
    help="On an unexpected error (a bug in mdd), print the traceback. Also MDD_DEBUG=1.",
)
def main(debug: bool) -> None:
    """Monitoring Driven Deployment: a datacenter's integration points, as Sensu checks.

    Write one manifest per datacenter listing every integration point the platform needs
    (DNS, LDAP, NTP, VIPs, repositories, databases, TLS endpoints...) and who delivers it.
    `mdd generate` turns it into Sensu check definitions that stay red until each point is
    really there.

    \b
    mdd validate ams1                 check manifests/ams1.yaml; every problem at once
    mdd generate ams1 -o checks.json  its Sensu Classic check definitions
    mdd generate ams1 --format sensu-go | sensuctl create   ... or Sensu Go resources
    mdd verify ams1 --watch           run the checks from here; watch red turn green
    mdd verify --all --watch --stable 10m   every datacenter, until all stay green
    mdd todo --owner dba --format csv what a team still owes, for its tickets
    mdd status ams1 --sensu-api URL   the same board, from what Sensu sees
    mdd report ams1 -o ams1.html      progress as one HTML page, with a burn-up chart
    mdd render ams1                   the resolved manifest (bases, vars, for_each)
    mdd diff ams1 fra1                how two datacenters differ
    mdd init fra1 --from ams1 --set domain=fra1.example.net
    mdd docs ams1 -o ams1.md          the living document, grouped by owner
    mdd types show http               the options of a check type
    mdd asset build -o dist/          the agent artifact: the checks for any agent

    DATACENTER is a name, for NAME.yaml in --manifests DIR, else $MDD_MANIFESTS, else
    ./manifests; or the path of a manifest file.

    \b
    Exit status, the same for every command:
      0   done (verify, status: every point green; diff: equal)
      1   verify, status: some point is not green; diff: the datacenters differ
      2   a usage, manifest, state-file or file problem; nothing written
      3   status: the Sensu API could not be read
      70  an unexpected error, a bug in mdd (--debug shows the traceback)
      130 interrupted (SIGINT, SIGTERM, SIGHUP)
    """


def _add_commands() -> None:
    """Each command or family lives in its own module of ``mdd.cli``; their heavy modules are
    imported inside the commands."""
    from mdd.cli import bundled, generate, manifests
    from mdd.cli.report import report
    from mdd.cli.status import status
    from mdd.cli.todo import todo
    from mdd.cli.verify import verify

    for command in (
        manifests.validate,
        generate.generate,
        bundled.types,
        bundled.asset,
        manifests.render_command,
        manifests.diff_command,
        manifests.init_command,
        manifests.docs_command,
        manifests.schema_command,
        verify,
        report,
        status,
        todo,
    ):
        main.add_command(command)
    for alias, name in ALIASES.items():
        main.add_command(main.commands[name], alias)


_add_commands()
