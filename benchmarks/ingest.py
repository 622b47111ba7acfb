"""Submission ingest (DESIGN §9, research/reliability.md DUR-04): acknowledged submissions a
second over HTTP, with workers, on SQLite or PostgreSQL, and that none is lost on SIGKILL.

A real server (`python -m uvicorn --factory budget_sim.web.app:create_app --workers N`, as
`budget-sim serve --workers N` runs it) on a migrated database: a fresh SQLite file, or the
PostgreSQL database of --database-url (migrated; rows already there are left alone). The load
generator shares the machine's cores with it, so it is kept cheap: every request (the Cambridge
simulator form as a browser without JavaScript sends it, 114 lines, the city's amounts, each
with its own ballot minted with the server's key) is built before the clock starts, then
--clients keep-alive connections post them from one asyncio loop on raw sockets. Its own CPU
use is reported beside the figures. A submission counts as acknowledged only when the server
answers 303 to its receipt, and the receipts acknowledged are checked against the rows stored.

1. `throughput`: --trials runs of --seconds each; acknowledged a second (median), latency,
   rows stored during the run, CPU used by the server, the client, PostgreSQL and the rest.
2. `kill`: --runs times, post for --kill-after seconds, SIGKILL the server's whole process
   group (supervisor and workers) mid-load, then read the database directly: every
   acknowledged receipt must be stored (and SQLite's `PRAGMA integrity_check` say ok); the
   server is started again on the same database (time until it answers).

    .venv/bin/python benchmarks/ingest.py [--workers 2] [--database-url URL] [--clients 32]
        [--seconds 10] [--trials 3] [--runs 5] [--kill-after 4] [--http auto|h11|httptools]
        [--loop auto|asyncio|uvloop] [--access-log]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    HOST,
    ROOT,
    VENV_BIN,
    _cpu_times,
    free_port,
    http_get,
    simulator_form,
    temporary_instance,
)

SLUG = "cambridge-fy2026"
SECRET = "benchmark-only-secret-key-not-for-production"  # as temporary_instance sets it
HZ = os.sysconf("SC_CLK_TCK")


class Poster(asyncio.Protocol):
    """One keep-alive connection posting prepared requests one after another."""

    def __init__(self, load: Load) -> None:
        self.load, self.buffer, self.started = load, b"", 0.0
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._next()

    def _next(self) -> None:
        request = self.load.take()
        if request is None:
            self.transport.close()
            return
        self.started = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        fields = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
        fields = {k.lower(): v for k, v in fields.items()}
        length = int(fields.get("content-length", "0"))
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length :]
        self.load.answered(int(head[0].split()[1]), fields.get("location", ""), self.started)
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.load.stopped:
            self.load.failed(type(exc).__name__ if exc else "connection closed")
        if not self.done.done():
            self.done.set_result(None)


class Load:
    """Prepared requests posted by --clients connections until stopped."""

    def __init__(self, port: int, requests: list[bytes], clients: int) -> None:
        self.port, self.requests, self.clients = port, requests, clients
        self.stopped = False
        self.acknowledged: list[str] = []  # receipts
        self.latencies: list[float] = []
        self.failures: dict[str, int] = {}

    def take(self) -> bytes | None:
        if self.stopped or not self.requests:
            if not self.requests:
                self.failed("ran out of prepared requests")
            return None
        return self.requests.pop()

    def answered(self, status: int, location: str, started: float) -> None:
        if status == 303 and "/r/" in location:
            self.acknowledged.append(location.rsplit("/r/", 1)[1].split("?")[0])
            self.latencies.append(time.perf_counter() - started)
        else:
            self.failed(f"HTTP {status}")

    def failed(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1

    async def _run(self, seconds: float, then: Callable[[], None] | None) -> float:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        posters = []
        for _ in range(self.clients):
            _, poster = await loop.create_connection(lambda: Poster(self), HOST, self.port)
            posters.append(poster)
        await asyncio.sleep(seconds)
        if then is not None:
            then()
            await asyncio.sleep(0.2)  # answers already on the wire still count
        self.stopped = True
        wall = time.perf_counter() - started
        for poster in posters:
            poster.transport.close()
        await asyncio.gather(*(p.done for p in posters))
        return wall

    def run(self, seconds: float, *, then: Callable[[], None] | None = None) -> tuple[float, float]:
        """Post for `seconds` (calling `then` at the end); (wall seconds, client CPU seconds)."""
        cpu = time.process_time()
        wall = asyncio.run(self._run(seconds, then))
        return wall, time.process_time() - cpu


def prepare(port: int, fields: list[tuple[str, str]], count: int) -> list[bytes]:
    """`count` complete HTTP requests, each with a fresh ballot."""
    from budget_sim.web.resident.ballots import BallotSigner

    signer = BallotSigner(SECRET, 24 * 3600)
    marker = "BALLOT-PLACEHOLDER"
    body = urllib.parse.urlencode([(k, marker if k == "ballot" else v) for k, v in fields])
    before, after = (part.encode() for part in body.split(marker))
    requests = []
    for _ in range(count):
        data = before + signer.issue(SLUG).encode() + after
        head = (
            f"POST /b/{SLUG}/submit HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        requests.append(head.encode() + data)
    return requests


class Server:
    """The server in its own process group (supervisor and workers), killed as one."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str], port: int, log: Path):
        self.command = [
            str(VENV_BIN / "python"),
            *("-m", "uvicorn", "--factory", "budget_sim.web.app:create_app"),
            *("--host", HOST, "--port", str(port), "--workers", str(args.workers)),
            *("--http", args.http, "--loop", args.loop, "--no-proxy-headers"),
            *([] if args.access_log else ["--no-access-log"]),
        ]
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start it; seconds until it answers."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=ROOT, stdout=out, stderr=out,
                start_new_session=True,
            )  # fmt: skip
        started = time.perf_counter()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited while starting; see {self.log}")
            try:
                http_get(f"http://{HOST}:{self.port}/")
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)

    def cpu_ticks(self) -> dict[int, int]:
        return _ticks(lambda stat: int(stat[2]) == self.process.pid)  # its process group


def _ticks(which: Callable[[list[str]], bool], name: str | None = None) -> dict[int, int]:
    """pid -> CPU ticks (user + system) of the processes whose /proc stat fields match."""
    found = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = path.read_text()
        except OSError:
            continue
        comm, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw.rsplit(")", 1)[1].split()
        if (name is None or comm == name) and which(rest):
            found[int(path.parent.name)] = int(rest[11]) + int(rest[12])
    return found


def _used(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds used between two readings by the processes alive at the second (those
    started in between count whole; those that ended in between are not seen)."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / HZ


def _postgres_ticks() -> dict[int, int]:
    return _ticks(lambda _stat: True, name="postgres")


class Store:
    """Reads the database directly (not through the server)."""

    def __init__(self, url: str) -> None:
        self.url, self.engine = url, create_engine(url)

    def receipts(self) -> set[str]:
        with self.engine.connect() as connection:
            return {r for (r,) in connection.execute(text("SELECT receipt FROM submissions"))}

    def integrity(self) -> str:
        if self.engine.url.get_backend_name() != "sqlite":
            return "n/a (PostgreSQL)"
        with self.engine.connect() as connection:
            return connection.execute(text("PRAGMA integrity_check")).scalar_one()


def throughput(args, server: Server, store: Store, fields) -> dict:
    requests = prepare(server.port, fields, int(args.seconds * args.prepare_rate))
    before = len(store.receipts())
    busy0, total0 = _cpu_times()
    server0, pg0 = server.cpu_ticks(), _postgres_ticks()
    load = Load(server.port, requests, args.clients)
    wall, client_cpu = load.run(args.seconds)
    busy1, total1 = _cpu_times()
    server_cpu = _used(server0, server.cpu_ticks())
    pg_cpu = _used(pg0, _postgres_ticks())
    machine = (busy1 - busy0) / HZ  # all cores
    stored = store.receipts()
    latencies = sorted(load.latencies) or [float("nan")]
    return {
        "acknowledged": len(load.acknowledged),
        "per_second": round(len(load.acknowledged) / wall),
        # on a shared machine: how many one core of server CPU acknowledges
        "per_server_cpu_second": round(len(load.acknowledged) / max(server_cpu, 1e-9)),
        "rows_added": len(stored) - before,
        "all_acknowledged_stored": set(load.acknowledged) <= stored,
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
        "failures": load.failures,
        # CPU in cores (seconds of CPU per second of wall time); the machine has os.cpu_count()
        "cpu_server": round(server_cpu / wall, 2),
        "cpu_client": round(client_cpu / wall, 2),
        "cpu_postgres": round(pg_cpu / wall, 2),
        "cpu_rest": round(max(0.0, machine - server_cpu - client_cpu - pg_cpu) / wall, 2),
        "cpu_idle": round(((total1 - total0) - (busy1 - busy0)) / HZ / wall, 2),
    }


def kill_runs(args, server: Server, store: Store, fields) -> list[dict]:
    runs = []
    for _ in range(args.runs):
        requests = prepare(server.port, fields, int(args.kill_after * args.prepare_rate))
        load = Load(server.port, requests, args.clients)
        load.run(args.kill_after, then=server.kill)
        server.process.wait()
        stored = store.receipts()
        missing = set(load.acknowledged) - stored
        integrity = store.integrity()
        ready = server.start()
        runs.append(
            {
                "acknowledged": len(load.acknowledged),
                "missing": len(missing),
                "integrity": integrity,
                "restart_ready_s": round(ready, 2),
                "client_errors": load.failures,
            }
        )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a fresh SQLite file)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kill-after", type=float, default=4.0)
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log")
    parser.add_argument(
        "--prepare-rate", type=float, default=3000, help="requests prepared per second of load"
    )
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {vars(args)}")
    print(f"load average at start {os.getloadavg()}")
    with temporary_instance(args.database_url) as instance:
        env = {**instance.env, "BUDGET_SIM_WARM_INSIGHTS": "false"}
        store = Store(env["BUDGET_SIM_DATABASE_URL"])
        server = Server(args, env, free_port(), instance.folder / "server.log")
        try:
            server.start()
            page = http_get(f"http://{HOST}:{server.port}/b/{SLUG}")
            form = simulator_form(page, like_browser=False)
            # The city's own plan, as submitted unchanged: moving one line would unbalance it.
            fields = [(k, form.before if k == form.moved else v) for k, v in form.fields]
            trials = [throughput(args, server, store, fields) for _ in range(args.trials)]
            for trial in trials:
                print("throughput:", json.dumps(trial))
            median = statistics.median(t["per_second"] for t in trials)
            print(f"median acknowledged a second: {median:.0f}")
            runs = kill_runs(args, server, store, fields)
            for run in runs:
                print("kill -9:", json.dumps(run))
        finally:
            server.stop()
            store.engine.dispose()
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
