"""tls: placeholder, being written."""

from __future__ import annotations

import argparse

from mdd.checks._base import MddCheck
from mdd.checks._options import URL, Option
from mdd.checks._result import Result, State

TYPE = "tls"
SUMMARY = "placeholder"
OPTIONS: tuple[Option, ...] = (Option("url", URL, "placeholder", required=True),)
EXAMPLE = {"url": "https://example.net/"}


def validate(values: dict[str, object]) -> list[tuple[str, str]]:
    return []


def probe(opts: argparse.Namespace) -> Result:
    return Result(State.UNKNOWN, "not written yet")


class TlsCheck(MddCheck):
    DOC = __doc__ or ""
    OPTIONS = OPTIONS

    def probe(self, opts: argparse.Namespace) -> Result:
        return probe(opts)


def main() -> None:
    TlsCheck()


if __name__ == "__main__":
    main()
