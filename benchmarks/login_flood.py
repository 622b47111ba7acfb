"""Staff sign-ins beside resident submissions (review reliability.md HIGH-1; AUTH-03 allows at most
+50 ms on the submissions' p95 during a sign-in flood).

A real `budget-sim serve` (one process) on a fresh, migrated SQLite database. --clients threads
post the Cambridge simulator form unchanged, each with its own ballot (minted with the server's
key, as `ingest.py` does), in three phases of --seconds each: alone, beside --signers threads
signing in with the right password (--sign-in-rate a second between them, the same load for
any version of the code, or back to back with 0), and alone again. A submission counts when the
server answers 303 to its receipt; a sign-in when it answers 303 with a session cookie.

Then, in a child process running the same code, --lock-sign-ins sign-ins one after another
through the app in process, timing how long their write transactions hold SQLite's write lock
(during which no submission can be stored): a figure that other processes' load barely moves.

`--checkout DIR` serves the code of another source tree (say, an older commit exported with
`git archive`, with `static/vendor/` copied in) with this virtual environment, so that before
and after are measured the same way.

    .venv/bin/python benchmarks/login_flood.py [--clients 4] [--signers 2] [--seconds 10]
        [--sign-in-rate 4] [--checkout DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import resource
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
    ROOT,
    VENV_BIN,
    OthersMeter,
    Server,
    free_port,
    git_state,
    http_get,
    running_server,
    simulator_form,
    temporary_instance,
    wait_until_quiet,
)

SLUG = "cambridge-fy2026"
SECRET = "benchmark-only-secret-key-not-for-production"  # as temporary_instance sets it
EMAIL, PASSWORD = "flood@city.example", "benchmark passphrase 2026"


Request = Callable[[http.client.HTTPConnection], tuple[bool, str]]  # (succeeded, else what)


class Meter(OthersMeter):
    """CPU used by processes other than the server and this script (whose threads are the
    load here, not a child process)."""

    @staticmethod
    def _children_seconds() -> float:
        used = 0.0
        for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF):
            usage = resource.getrusage(who)
            used += usage.ru_utime + usage.ru_stime
        return used


class Loop:
    """Threads repeating one request until stopped; the latency of each success."""

    def __init__(self, threads: int, request: Request, interval: float = 0.0) -> None:
        """`interval`: each thread starts a request at most this often (0: back to back)."""
        self.threads, self.request, self.interval = threads, request, interval
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.failures: dict[str, int] = {}

    def _run(self, port: int) -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        due = time.perf_counter()
        while not self.stop.is_set():
            if self.stop.wait(max(0.0, due - time.perf_counter())):
                break
            started = time.perf_counter()
            due = started + self.interval
            try:
                ok, what = self.request(connection)
            except (OSError, http.client.HTTPException) as error:
                ok, what = False, type(error).__name__
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=60)
            elapsed = time.perf_counter() - started
            with self.lock:
                if ok:
                    self.latencies.append(elapsed)
                else:
                    self.failures[what] = self.failures.get(what, 0) + 1
        connection.close()

    def start(self, port: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._run, args=(port,)) for _ in range(self.threads)]
        for thread in threads:
            thread.start()
        return threads

    def finish(self, threads: list[threading.Thread]) -> None:
        self.stop.set()
        for thread in threads:
            thread.join()


def submitter(fields: list[tuple[str, str]]) -> Request:
    from budget_sim.web.resident.ballots import BallotSigner

    signer = BallotSigner(SECRET, 24 * 3600)

    def post(connection: http.client.HTTPConnection) -> tuple[bool, str]:
        ballot = signer.issue(SLUG)
        body = urllib.parse.urlencode([(k, ballot if k == "ballot" else v) for k, v in fields])
        connection.request(
            "POST",
            f"/b/{SLUG}/submit",
            body=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location") or ""
        return response.status == 303 and "/r/" in location, f"HTTP {response.status}"

    return post


def signer(port: int) -> Request:
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "next": "/staff"})

    def post(connection: http.client.HTTPConnection) -> tuple[bool, str]:
        connection.request(
            "POST",
            "/staff/login",
            body=body.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"http://{HOST}:{port}",
            },
        )
        response = connection.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie") or ""
        return response.status == 303 and "budget-sim-staff" in cookie, f"HTTP {response.status}"

    return post


def summary(loop: Loop, seconds: float) -> dict:
    latencies = sorted(loop.latencies)
    if not latencies:
        return {"count": 0, "failures": loop.failures}
    return {
        "count": len(latencies),
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
        "max_ms": round(1000 * latencies[-1], 1),
        "failures": loop.failures,
    }


def phase(server: Server, fields: list, args: argparse.Namespace, *, signing: bool) -> dict:
    port = int(server.base.rsplit(":", 1)[1])
    submissions = Loop(args.clients, submitter(fields))
    interval = args.signers / args.sign_in_rate if args.sign_in_rate else 0.0
    sign_ins = Loop(args.signers, signer(port), interval) if signing else None
    meter = Meter(server.pid)
    meter.start()
    threads = submissions.start(port)
    others = sign_ins.start(port) if sign_ins else []
    started = time.perf_counter()
    time.sleep(args.seconds)
    wall = time.perf_counter() - started
    if sign_ins:
        sign_ins.finish(others)
    submissions.finish(threads)
    result = {"submissions": summary(submissions, wall), "others_cpu": round(meter.stop(), 2)}
    if sign_ins:
        result["sign_ins"] = summary(sign_ins, wall)
    return result


def probe_lock(sign_ins: int) -> dict:
    """In this process (whatever code PYTHONPATH names): sign in `sign_ins` times through the app
    on a fresh SQLite file and time every write transaction, from the moment it holds the
    process's write lock to its commit. Returns the medians per sign-in."""
    import contextlib
    import tempfile
    from datetime import UTC, datetime

    from starlette.testclient import TestClient

    from budget_sim import accounts
    from budget_sim.settings import Settings
    from budget_sim.storage import Database, upgrade
    from budget_sim.storage import staff as staff_db
    from budget_sim.web import create_app

    folder = Path(tempfile.mkdtemp(prefix="budget-sim-lock-"))
    url = f"sqlite:///{folder / 'probe.db'}"
    upgrade(url)
    database = Database(url)
    with database.writing() as session:
        staff_db.create_staff(
            session,
            email=EMAIL,
            name="Flood",
            role="admin",
            budgets=None,
            password_hash=accounts.hash_password(PASSWORD),
            now=datetime.now(UTC),
        )
    database.dispose()
    held: list[float] = []
    writing = Database.writing

    @contextlib.contextmanager
    def timed(self):  # noqa: ANN001, ANN202 - wraps Database.writing
        with writing(self) as session:
            started = time.perf_counter()
            yield session
        held.append(time.perf_counter() - started)  # after the commit, as the lock is let go

    Database.writing = timed  # type: ignore[method-assign]
    settings = Settings(
        database_url=url, instance_dir=folder / "instance", secret_key=SECRET, warm_insights=False
    )
    per_sign_in: list[tuple[float, int]] = []
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        for _ in range(sign_ins):
            held.clear()
            started = time.perf_counter()
            response = client.post(
                "/staff/login",
                data={"email": EMAIL, "password": PASSWORD, "next": "/staff"},
                follow_redirects=False,
            )
            if response.status_code != 303:
                raise RuntimeError(f"sign-in answered {response.status_code}")
            per_sign_in.append((time.perf_counter() - started, len(held), sum(held)))
    return {
        "sign_ins": sign_ins,
        "sign_in_ms": round(1000 * statistics.median(t for t, _, _ in per_sign_in), 1),
        "write_transactions": statistics.median(n for _, n, _ in per_sign_in),
        "write_lock_held_ms": round(1000 * statistics.median(h for _, _, h in per_sign_in), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--signers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--sign-in-rate",
        type=float,
        default=4.0,
        help="sign-ins started a second, shared by the signers (0: each back to back)",
    )
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--lock-sign-ins", type=int, default=30, help="sign-ins the probe times")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe_lock(args.lock_sign_ins)))
        return
    checkout = args.checkout.resolve()
    print(f"python {platform.python_version()}, load average {os.getloadavg()}")
    print(f"serving {checkout}" + (f" at {git_state()}" if checkout == ROOT else ""))
    with temporary_instance() as instance:
        env = {
            **instance.env,
            "BUDGET_SIM_WARM_INSIGHTS": "false",
            "PYTHONPATH": str(checkout),  # the code served: this tree, or --checkout
            "PYTHONSAFEPATH": "1",  # not the working folder first (the server runs in ROOT)
        }
        subprocess.run(
            [sys.executable, "-m", "budget_sim", "create-staff", EMAIL, "--password-stdin"],
            env=env,
            cwd=checkout,
            input=PASSWORD,
            text=True,
            check=True,
            capture_output=True,
        )
        port, log = free_port(), instance.folder / "server.log"
        wait_until_quiet()
        command = [sys.executable, "-m", "budget_sim", "serve", "--host", HOST, "--port", str(port)]
        with running_server(command, env, port, log) as server:
            form = simulator_form(http_get(f"{server.base}/b/{SLUG}"), like_browser=False)
            fields = [(k, form.before if k == form.moved else v) for k, v in form.fields]
            results = {
                "alone": phase(server, fields, args, signing=False),
                "with sign-ins": phase(server, fields, args, signing=True),
                "alone again": phase(server, fields, args, signing=False),
            }
        probe = subprocess.run(
            [sys.executable, __file__, "--probe", "--lock-sign-ins", str(args.lock_sign_ins)],
            env=env,
            cwd=checkout,
            check=True,
            capture_output=True,
            text=True,
        )
        results["write lock per sign-in"] = json.loads(probe.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=1))
    lock = results["write lock per sign-in"]
    print(
        f"one sign-in (median of {lock['sign_ins']}, in process): {lock['sign_in_ms']} ms, "
        f"{lock['write_transactions']} write transactions holding SQLite's write lock "
        f"{lock['write_lock_held_ms']} ms"
    )
    print("| phase | submissions | p50 | p95 | max | sign-ins | others' CPU |")
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        if name == "write lock per sign-in":
            continue
        s, signed = result["submissions"], result.get("sign_ins", {})
        print(
            f"| {name} | {s['count']:,} | {s.get('p50_ms')} ms | {s.get('p95_ms')} ms | "
            f"{s.get('max_ms')} ms | {signed.get('count', '')} | {result['others_cpu']:.0%} |"
        )


if __name__ == "__main__":
    assert VENV_BIN.exists()
    main()
