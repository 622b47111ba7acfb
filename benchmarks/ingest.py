"""Submission ingest (DESIGN §9, research/reliability.md DUR-04): acknowledged submissions a
second on SQLite, and that none is lost when the server is killed with SIGKILL.

A real `budget-sim serve` (one process, pinned to core 0 when `taskset` exists) on a fresh,
migrated SQLite database; --clients threads (pinned to core 1) each keep one HTTP connection
and post the Cambridge simulator form as a browser without JavaScript sends it (every field,
114 lines, the city's amounts), each with its own ballot. A ballot is minted with the
server's key instead of fetched with a page: the page is not what is measured. A submission
counts as acknowledged only when the server answers 303 to its receipt.

1. `throughput`: acknowledged submissions a second over --seconds, with the latency of each.
2. `kill`: --runs times, post for --kill-after seconds, SIGKILL the server mid-load, read the
   database file directly: every acknowledged receipt must be stored, and `PRAGMA
   integrity_check` must say ok; the server is then started again on the same file (time until
   it answers). Each run adds to the same database.

    .venv/bin/python benchmarks/ingest.py [--clients 16] [--seconds 10] [--runs 5]
        [--kill-after 6]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HOST,
    VENV_BIN,
    free_port,
    http_get,
    pinned,
    simulator_form,
    temporary_instance,
)

SLUG = "cambridge-fy2026"
SECRET = "benchmark-only-secret-key-not-for-production"  # as temporary_instance sets it


class Load:
    """Client threads posting submissions until stopped; what was acknowledged, and how fast."""

    def __init__(self, port: int, fields: list[tuple[str, str]], clients: int) -> None:
        from budget_sim.web.ballots import BallotSigner

        self.port, self.fields, self.clients = port, fields, clients
        self.signer = BallotSigner(SECRET, 24 * 3600)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []  # receipts
        self.latencies: list[float] = []
        self.failures: dict[str, int] = {}

    def _post(self, connection: http.client.HTTPConnection) -> tuple[int, str]:
        ballot = self.signer.issue(SLUG)
        body = urllib.parse.urlencode(
            [(k, ballot if k == "ballot" else v) for k, v in self.fields]
        ).encode()
        connection.request(
            "POST",
            f"/b/{SLUG}/submit",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""

    def _client(self) -> None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                status, location = self._post(connection)
            except (OSError, http.client.HTTPException) as error:
                with self.lock:
                    name = type(error).__name__
                    self.failures[name] = self.failures.get(name, 0) + 1
                connection.close()
                connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
                time.sleep(0.05)
                continue
            elapsed = time.perf_counter() - started
            with self.lock:
                if status == 303 and "/r/" in location:
                    self.acknowledged.append(location.rsplit("/r/", 1)[1].split("?")[0])
                    self.latencies.append(elapsed)
                else:
                    self.failures[f"HTTP {status}"] = self.failures.get(f"HTTP {status}", 0) + 1
        connection.close()

    def run(self, seconds: float, *, then: Callable[[], None] | None = None) -> float:
        """Post for `seconds` (calling `then` at the end, before the clients stop); wall time."""
        threads = [threading.Thread(target=self._client) for _ in range(self.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        if then is not None:
            then()
        self.stop.set()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = pinned(
        [str(VENV_BIN / "budget-sim"), "serve", "--host", HOST, "--port", str(port)], core=0
    )
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=out)


def _wait_until_up(port: int, process: subprocess.Popen) -> float:
    started = time.perf_counter()
    while True:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            http_get(f"http://{HOST}:{port}/")
            return time.perf_counter() - started
        except OSError:
            time.sleep(0.05)


def _stored(database: Path) -> tuple[set[str], str]:
    connection = sqlite3.connect(database)
    try:
        receipts = {row[0] for row in connection.execute("SELECT receipt FROM submissions")}
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()
    return receipts, integrity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kill-after", type=float, default=6.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the clients on core 1, the server on core 0
    print(f"python {platform.python_version()}, load average {os.getloadavg()}")
    with temporary_instance() as instance:
        database = instance.folder / "bench.db"
        assert instance.env["BUDGET_SIM_SECRET_KEY"] == SECRET
        env = {**instance.env, "BUDGET_SIM_WARM_INSIGHTS": "false"}
        port, log = free_port(), instance.folder / "server.log"
        server = _serve(env, port, log)
        try:
            _wait_until_up(port, server)
            form = simulator_form(http_get(f"http://{HOST}:{port}/b/{SLUG}"), like_browser=False)
            # The city's own plan, as submitted unchanged: moving one line would unbalance it.
            fields = [(k, form.before if k == form.moved else v) for k, v in form.fields]

            load = Load(port, fields, args.clients)
            wall = load.run(args.seconds)
            stored, integrity = _stored(database)
            latencies = sorted(load.latencies)
            if not latencies:
                raise RuntimeError(f"nothing was acknowledged: {load.failures}; see {log}")
            throughput = {
                "clients": args.clients,
                "lines_in_form": form.line_count,
                "acknowledged": len(load.acknowledged),
                "per_second": len(load.acknowledged) / wall,
                "p50_ms": 1000 * statistics.median(latencies),
                "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
                "failures": load.failures,
                "all_stored": set(load.acknowledged) <= stored,
                "integrity": integrity,
            }
            print("throughput:", json.dumps(throughput, indent=1))

            runs = []
            for _ in range(args.runs):
                load = Load(port, fields, args.clients)
                killed = server.pid
                load.run(args.kill_after, then=lambda pid=killed: os.kill(pid, signal.SIGKILL))
                server.wait()
                stored, integrity = _stored(database)
                missing = set(load.acknowledged) - stored
                server = _serve(env, port, log)
                ready = _wait_until_up(port, server)
                runs.append(
                    {
                        "acknowledged": len(load.acknowledged),
                        "missing": len(missing),
                        "integrity": integrity,
                        "restart_ready_s": round(ready, 2),
                        "client_errors": load.failures,
                    }
                )
        finally:
            server.terminate()  # the last one started (the others were killed)
            server.wait(timeout=10)
        print("kill -9:", json.dumps(runs, indent=1))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
