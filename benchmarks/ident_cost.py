"""What one run of check-mdd-ldap, -smtp and -proxy costs, beside bare Python and the C plugins.

    .venv/bin/python benchmarks/ident_cost.py            # 30 runs of each, interleaved
    .venv/bin/python benchmarks/ident_cost.py --dev -n 50

The same method as check_cost.py (the launcher, loop, wheel install and table of _measure.py):
every run a fresh process, CPU = user + system time of that child from ``os.wait4``, peak
RSS its ``ru_maxrss``, runs of all subjects interleaved. The servers are the tests' own, on
127.0.0.1: OpenLDAP slapd with the test directory, aiosmtpd with STARTTLS, the forward proxy
in front of an HTTP server. Each check's OK path is measured, and the Debian monitoring-plugins
C plugin (check_ldap, check_smtp, check_http) on the same server.

Each run is also counted once under valgrind (instructions, which do not move with load;
``--no-instructions`` skips that). Target (issue 19): every check type at most 4x bare
Python, by CPU and by instructions. (The ldap check speaks LDAP itself since then: no
library import to measure beside it.)
This is a measurement, not a test: timings never go into the test suite.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from _measure import (  # benchmarks/: the launcher and the loop every benchmark shares
    Launcher,
    Subject,
    check_subject,
    count_instructions,
    first_line,
    install_wheel,
    interleaved,
    print_table,
)

PLUGINS = Path("/usr/lib/nagios/plugins")
# The check types this benchmark measures (check_cost.py measures the others).
IDENT_TYPES = ("ldap", "smtp", "proxy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("-n", "--runs", type=int, default=30, help="runs of each (default: 30)")
    parser.add_argument("--dev", action="store_true", help="measure this (editable) venv")
    parser.add_argument(
        "--no-instructions", action="store_true", help="do not count instructions (valgrind)"
    )
    args = parser.parse_args(argv)
    bin_dir = Path(sys.executable).parent if args.dev else install_wheel()
    print(f"measuring the mdd installed in {bin_dir.parent}")

    import trustme

    from tests.checks.http_servers import forward_proxy, serve, server_context
    from tests.checks.ldap_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, slapd
    from tests.checks.smtp_servers import smtp_server

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        ca = trustme.CA()
        ca_file = workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        password = workdir / "ldap.pw"
        password.write_text(SERVICE_PASSWORD + "\n")
        directory = stack.enter_context(slapd(workdir / "slapd", ca))
        relay = stack.enter_context(smtp_server(server_context(ca, "localhost", "127.0.0.1")))
        web = stack.enter_context(serve())
        proxy = stack.enter_context(forward_proxy())
        proxy.deny_ports.add(443)

        ldap_values = {
            "url": directory.url,
            "bind_dn": SERVICE_DN,
            "password": {"file": str(password)},
            "base": PEOPLE,
            "timeout": "5s",
        }
        subjects = [
            # The floor every mdd check stands on: interpreter, sensu-plugin, options, socket.
            check_subject(
                "check-mdd-tcp (reference)",
                "tcp",
                {"host": "127.0.0.1", "port": relay.port, "timeout": "5s"},
                bin_dir,
            ),
            check_subject("check-mdd-ldap (bind+search)", "ldap", ldap_values, bin_dir),
            check_subject(
                "check-mdd-ldap (ldaps, ca_file)",
                "ldap",
                {**ldap_values, "url": directory.tls_url, "ca_file": str(ca_file)},
                bin_dir,
            ),
            check_subject(
                "check-mdd-smtp (greeting, EHLO)",
                "smtp",
                {"host": "127.0.0.1", "port": relay.port, "timeout": "5s"},
                bin_dir,
            ),
            check_subject(
                "check-mdd-smtp (STARTTLS+AUTH+RCPT)",
                "smtp",
                {
                    "host": "127.0.0.1",
                    "port": relay.port,
                    "starttls": True,
                    "ca_file": str(ca_file),
                    "auth": ["PLAIN"],
                    "mail_from": "a@mdd.test",
                    "rcpt_to": ["b@mdd.test"],
                    "timeout": "5s",
                },
                bin_dir,
            ),
            check_subject(
                "check-mdd-proxy (http via proxy)",
                "proxy",
                {"proxy": proxy.url, "url": web.url("/ok"), "timeout": "5s"},
                bin_dir,
            ),
            check_subject(
                "check-mdd-proxy (denied CONNECT)",
                "proxy",
                {"proxy": proxy.url, "url": "https://127.0.0.1/", "denied": True},
                bin_dir,
            ),
        ]
        plugins = [
            Subject(
                "C check_ldap (bind+search)",
                [
                    str(PLUGINS / "check_ldap"),
                    "-3",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(directory.port),
                    "-b",
                    PEOPLE,
                    "-D",
                    SERVICE_DN,
                    "-P",
                    SERVICE_PASSWORD,
                ],
            ),
            Subject(
                "C check_smtp (greeting, EHLO)",
                [str(PLUGINS / "check_smtp"), "-H", "127.0.0.1", "-p", str(relay.port)],
            ),
            Subject(
                "C check_http (http via proxy)",
                [
                    str(PLUGINS / "check_http"),
                    "-I",
                    "127.0.0.1",
                    "-p",
                    str(proxy.port),
                    "-H",
                    f"127.0.0.1:{web.port}",
                    "-u",
                    web.url("/ok"),
                ],
            ),
        ]
        python = str(bin_dir / "python")
        baseline = Subject("python -c pass", [python, "-c", "pass"])
        checks = [s for s in subjects if s is not None]
        present = [s for s in plugins if Path(s.argv[0]).exists()]
        everyone = [baseline, *checks, *present]
        for subject in [*checks, *present]:
            words = [Path(subject.argv[0]).name, *subject.argv[1:]]
            shown = shlex.join(words).replace(SERVICE_PASSWORD, "[secret]")
            print(f"  {shown}\n    {first_line(subject.argv)}")
        launcher = stack.enter_context(Launcher(workdir))
        interleaved(launcher, everyone, args.runs)
        if not args.no_instructions:
            count_instructions(everyone)

    print_table(everyone, baseline, args.runs)

    print()
    for subject in checks:
        ratio = statistics.median(subject.cpu) / statistics.median(baseline.cpu)
        verdict = ratio <= 4
        text = f"CPU {ratio:.2f}x"
        if subject.instructions and baseline.instructions:
            share = subject.instructions / baseline.instructions
            verdict = verdict and share <= 4
            text += f", instructions {share:.2f}x"
        met = "met" if verdict else "NOT met"
        print(f"target {subject.label} <= 4x python -c pass: {text}, {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
