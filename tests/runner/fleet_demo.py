"""A scripted bring-up of the three example datacenters on loopback, then what each fleet
command prints. Run: ``.venv/bin/python -m tests.runner.fleet_demo [FOLDER]`` (it keeps the
folder, with the state files and fleet.html, for a look)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.runner.fleet_lab import Lab, example_points

WAVES: list[tuple[float, dict[str, list[str]]]] = [
    (
        30,
        {
            "ams1": ["resolver-ns1", "resolver-ns2", "bastion", "gateway"],
            "fra1": ["resolver-ns1", "resolver-ns2", "resolver-ns3", "gateway"],
            "nyc1": ["resolver-ns1", "resolver-ns2"],
        },
    ),
    (
        90,
        {
            "ams1": [
                "ntp",
                "ldap",
                "artifact-repo",
                "vault-cert",
                "egress-proxy",
                "shared-storage",
                "smtp-relay",
                "mgmt-blocked",
            ],
            "fra1": ["ntp", "ldap", "artifact-repo", "bastion", "shared-storage", "egress-proxy"],
            "nyc1": ["ntp", "ldap", "gateway", "bastion"],
        },
    ),
    (
        150,
        {
            "ams1": ["payments-db", "sessions-cache", "events-broker", "egress-paste-denied"],
            "fra1": ["vault-cert", "smtp-relay"],
            "nyc1": ["artifact-repo", "trading-gw", "vault-cert", "egress-proxy"],
        },
    ),
    (200, {"ams1": ["payments-vip"], "nyc1": ["shared-storage", "smtp-relay"]}),
]


def bring_up(lab: Lab) -> None:
    lab.mdd("verify", "--all", "--no-color", minutes=0)
    for minutes, deliveries in WAVES:
        for dc, names in deliveries.items():
            lab.deliver(dc, *names)
        lab.mdd("verify", "--all", "--no-color", minutes=minutes)
    lab.take_away("ams1", "ldap")  # a regression...
    lab.take_away("fra1", "ldap")
    lab.mdd("verify", "--all", "--no-color", minutes=210)
    lab.deliver("ams1", "ldap")  # ...and ams1's comes back: a flap
    lab.mdd("verify", "--all", "--no-color", minutes=220)


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="mdd-fleet-"))
    lab = Lab(folder, {dc: example_points(dc) for dc in ("ams1", "fra1", "nyc1")})
    try:
        bring_up(lab)
        for title, args in (
            ("mdd verify --all", ("verify", "--all", "--no-color", "--tz", "UTC")),
            (
                "mdd verify ams1 --stable 10m",
                ("verify", "ams1", "--stable", "10m", "--no-color", "--tz", "UTC"),
            ),
            ("mdd todo --owner dba", ("todo", "--owner", "dba", "--tz", "UTC")),
            ("mdd todo --format csv", ("todo", "--format", "csv", "--tz", "UTC")),
            (
                "mdd report --all -o fleet.html",
                ("report", "--all", "-o", str(folder / "fleet.html"), "--tz", "UTC"),
            ),
            (
                "mdd report ams1 --format json -o -",
                ("report", "ams1", "--format", "json", "-o", "-", "--tz", "UTC"),
            ),
        ):
            run = lab.mdd(*args, minutes=240)
            print(f"$ {title}   (exit {run.code})")
            print(run.out[:6000], end="")
            print(run.err, end="")
            print()
    finally:
        lab.close()
    print(f"(kept in {folder})")


if __name__ == "__main__":
    main()
