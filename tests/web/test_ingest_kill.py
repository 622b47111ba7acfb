"""Nothing acknowledged is lost on `kill -9` (reliability.md DUR-04): a 2-worker server on a
real port takes submissions from a handful of clients, the whole process group (supervisor and
workers) is killed with SIGKILL mid-load, and every receipt a client got a 303 for is stored."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from budget_sim.web.resident.ballots import BallotSigner

SLUG = "cambridge-fy2026"
SECRET = "test-secret-key-not-for-production"
CLIENTS = 6
LOAD_SECONDS = 3.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(database_url: str, folder: Path, port: int) -> subprocess.Popen:
    """The server as `budget-sim serve --workers 2` runs it, in its own process group."""
    env = {
        **os.environ,
        "BUDGET_SIM_DATABASE_URL": database_url,
        "BUDGET_SIM_SECRET_KEY": SECRET,  # shared by the workers
        "BUDGET_SIM_INSTANCE_DIR": str(folder / "instance"),
        "BUDGET_SIM_WARM_INSIGHTS": "false",
    }
    executable = Path(sys.executable).with_name("budget-sim")
    command = [str(executable), "serve", "--port", str(port), "--workers", "2", "--no-access-log"]
    with (folder / "server.log").open("ab") as log:
        return subprocess.Popen(
            command, env=env, cwd=folder, stdout=log, stderr=log, start_new_session=True
        )


def _wait_until_up(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", f"/b/{SLUG}")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise AssertionError(f"the server did not start: {log.read_text()}")


class Clients:
    """Threads posting fresh ballots on keep-alive connections; the receipts acknowledged."""

    def __init__(self, port: int) -> None:
        self.port, self.stop = port, threading.Event()
        self.signer = BallotSigner(SECRET, 3600)
        self.acknowledged: list[str] = []
        self.answers: dict[int, int] = {}
        self.lock = threading.Lock()

    def _post(self, connection: http.client.HTTPConnection) -> None:
        body = f"ballot={self.signer.issue(SLUG)}&comment=kill+test".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", f"/b/{SLUG}/submit", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location") or ""
        with self.lock:
            self.answers[response.status] = self.answers.get(response.status, 0) + 1
            if response.status == 303 and "/r/" in location:
                self.acknowledged.append(location.rsplit("/r/", 1)[1].split("?")[0])

    def _run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop.is_set():
            try:
                self._post(connection)
            except (OSError, http.client.HTTPException):
                connection.close()  # killed mid-request: not acknowledged
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                time.sleep(0.02)
        connection.close()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._run) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        return threads


def test_no_acknowledged_submission_is_lost_when_every_worker_is_killed(database_url, tmp_path):
    port = _free_port()
    process = _start(database_url, tmp_path, port)
    try:
        _wait_until_up(process, port, tmp_path / "server.log")
        clients = Clients(port)
        threads = clients.start()
        time.sleep(LOAD_SECONDS)
        os.killpg(process.pid, signal.SIGKILL)  # the supervisor and both workers, at once
        process.wait(timeout=10)
        clients.stop.set()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert len(clients.acknowledged) >= 20, (clients.answers, (tmp_path / "server.log").read_text())
    assert set(clients.answers) == {303}, clients.answers  # nothing refused under load
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.scalars(text("SELECT receipt FROM submissions")))
            if engine.url.get_backend_name() == "sqlite":
                assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        engine.dispose()
    assert set(clients.acknowledged) <= stored
    assert len(stored) - len(clients.acknowledged) <= CLIENTS  # at most those in flight
