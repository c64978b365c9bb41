"""What one interval of a datacenter costs an agent: per-point checks against batch mode.

    .venv/bin/python benchmarks/batch_cost.py              # 50 tcp points, 5 rounds
    .venv/bin/python benchmarks/batch_cost.py --points 50 --rounds 5

Installs a wheel of this tree into build/bench-venv, as on an agent (see _measure.py).
Writes a manifest of N ``tcp`` points on 127.0.0.1 (half to a listening port, half to a
closed one, as during a bring-up), generates it twice (``mdd generate`` and ``mdd generate
--batch``), then for each round runs, as the Sensu agent would:

* **per-point**: each of the N generated commands under ``/bin/sh -c``, one after the other;
* **batch**: the one runner command under ``/bin/sh -c``, submitting to a client socket that
  this process serves on loopback (its CPU is not counted).

The CPU of a command (user + system, its shell and everything the shell waited for) comes
from ``os.wait4`` in a small launcher process. Prints the median CPU of one interval for each
mode and the ratio. No traffic leaves 127.0.0.1. This is a measurement, never a test.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from _machine import describe
from _measure import Launcher, install_wheel  # benchmarks/: what every benchmark shares

from tests.batch.sensu_agents import client_socket


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bin_dir = install_wheel()
    print("\n".join(describe(bin_dir)))

    up = socket.socket()
    up.bind(("127.0.0.1", 0))
    up.listen(1024)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]

    def accept_and_close() -> None:
        while True:
            up.accept()[0].close()

    accept = threading.Thread(target=accept_and_close, daemon=True)
    accept.start()

    with client_socket() as (socket_port, received), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "manifests"
        folder.mkdir()
        points = [
            {
                "name": f"p{i:03d}",
                "type": "tcp",
                "owner": "netops",
                "check": {
                    "host": "127.0.0.1",
                    "port": up.getsockname()[1] if i % 2 == 0 else closed,
                    "timeout": "2s",
                },
            }
            for i in range(args.points)
        ]
        (folder / "bench1.yaml").write_text(
            json.dumps({"datacenter": "bench1", "integration_points": points})
        )
        mdd = str(bin_dir / "mdd")
        per_point_file, batch_file = Path(tmp) / "checks.json", Path(tmp) / "batch.json"
        for out, extra in ((per_point_file, []), (batch_file, ["--batch"])):
            subprocess.run(
                [mdd, "generate", "bench1", "--manifests", str(folder), "-o", str(out), *extra],
                check=True,
                stderr=subprocess.DEVNULL,
            )
        commands = [c["command"] for c in json.loads(per_point_file.read_text())["checks"].values()]
        (runner,) = json.loads(batch_file.read_text())["checks"].values()
        batch_command = runner["command"] + f" --socket 127.0.0.1:{socket_port}"

        per_point, batch = [], []
        with Launcher(path=bin_dir) as launcher:
            for round_ in range(args.rounds):
                per_point.append(sum(launcher.shell(c).cpu for c in commands))
                # a fresh state file each round: every point due, as at each point's interval
                state = Path(tmp) / f"state-{round_}"
                batch.append(launcher.shell(f"{batch_command} --state {state}").cpu)

    p, b = statistics.median(per_point) * 1000, statistics.median(batch) * 1000
    print(f"{args.points} tcp points, one interval, median of {args.rounds} rounds (CPU ms):")
    print(f"  per-point ({args.points} processes)  {p:8.1f} ms  ({p / args.points:.1f} ms/point)")
    print(f"  batch (1 process)          {b:8.1f} ms  ({b / args.points:.1f} ms/point)")
    print(f"  batch / per-point          {b / p:8.2f}x")
    expected = args.points * args.rounds
    if len(received) != expected:
        sys.exit(f"the client socket received {len(received)} results, not {expected}")


if __name__ == "__main__":
    main()
