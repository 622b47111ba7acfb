"""Two uvicorn worker processes on one database (a SQLite file, and PostgreSQL when configured),
started once per backend on a real port: whatever one worker changes, the other honours within
about a second. Every request goes over a fresh connection, and which worker answered it is read
from /proc (the worker holding the server's end of that connection), so each test shows that
both workers answered."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

from budget_sim.storage import upgrade
from tests.conftest import BACKENDS, POSTGRES_URL, _fresh_postgres
from tests.web.test_staff import PASSWORD, make_staff, sql
from tests.web.test_staff_budgets import FIELDS, GOOD_CSV

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

STAFF_COOKIE = "__Host-budget-sim-staff"
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(process)d %(name)s %(levelname)s %(message)s"}},
    "handlers": {"err": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "budget_sim": {"handlers": ["err"], "level": "INFO"},
        "uvicorn.error": {"handlers": ["err"], "level": "INFO", "propagate": False},
    },
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    worker: int  # the pid of the worker process that answered


@dataclass
class Site:
    """The two-worker server, and staff signed in to it."""

    base_port: int
    log: Path
    database_url: str
    cookies: dict[str, str] = field(default_factory=dict)  # admin email -> session token
    _workers: list[int] = field(default_factory=list)
    _csrf: dict[str, str] = field(default_factory=dict)

    def workers(self) -> list[int]:
        """The worker processes, as uvicorn logs them when they start."""
        if not self._workers:
            started = re.findall(r"Started server process \[(\d+)\]", self.log.read_text())
            self._workers.extend(int(pid) for pid in started)
        return self._workers

    def _worker_of(self, client_port: int) -> int:
        """The worker whose socket is the server's end of the connection from client_port."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                local, remote, inode = parts[1], parts[2], parts[9]
                ports = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
                if ports == (self.base_port, client_port):
                    inodes.add(f"socket:[{inode}]")
        for pid in self.workers():
            for descriptor in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(descriptor) in inodes:
                        return pid
                except OSError:
                    continue
        raise AssertionError(f"no worker holds the connection from port {client_port}")

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "",
        staff: str | None = None,
    ) -> Answer:
        """One request over a new connection, as a browser opening a page in a new tab."""
        headers = {}
        if form is not None:
            body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
        if content_type:
            headers["Content-Type"] = content_type
        if staff is not None:
            headers["Cookie"] = f"{STAFF_COOKIE}={self.cookies[staff]}"
        connection = http.client.HTTPConnection("127.0.0.1", self.base_port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            worker = self._worker_of(connection.sock.getsockname()[1])
            return Answer(response.status, dict(response.getheaders()), text, worker)
        finally:
            connection.close()

    def sign_in(self, email: str) -> None:
        answer = self.request(
            "POST", "/staff/login", form={"email": email, "password": PASSWORD, "next": "/staff"}
        )
        assert answer.status == 303, answer.text
        token = re.search(rf"{STAFF_COOKIE}=([^;]+)", answer.headers["set-cookie"])
        self.cookies[email] = token.group(1)

    def csrf(self, staff: str) -> str:
        """The session's CSRF token (one per session), as the staff pages carry it."""
        if staff not in self._csrf:
            page = self.request("GET", "/staff/budgets", staff=staff)
            self._csrf[staff] = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return self._csrf[staff]

    def upload(self, staff: str, slug: str, title: str, *, revise: bool = False) -> int:
        """Upload a budget (or a revision of it, with another title) as a draft: its number."""
        fields = {**FIELDS, "slug": slug, "title_en": title, "csrf": self.csrf(staff)}
        if revise:
            fields["base"] = slug
        boundary = secrets.token_hex(16)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        ]
        body = (
            "".join(parts).encode()
            + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="lines"; '
                f'filename="lines.csv"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
        )
        body += GOOD_CSV + f"\r\n--{boundary}--\r\n".encode()
        answer = self.request(
            "POST",
            "/staff/budgets/upload",
            body=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            staff=staff,
        )
        assert answer.status == 303, answer.text
        return int(answer.headers["location"].rsplit("/", 1)[1])

    def publish(self, staff: str, slug: str, revision: int, csrf: str | None = None) -> Answer:
        return self.request(
            "POST",
            f"/staff/budgets/{slug}/revisions/{revision}/publish",
            form={"csrf": csrf or self.csrf(staff)},
            staff=staff,
        )

    def submit(self, slug: str) -> tuple[Answer, Answer]:
        """A resident opens the budget and submits it (one line moved): both answers."""
        page = self.request("GET", f"/b/{slug}")
        assert page.status == 200, page.text
        ballot = re.search(r'name="ballot" value="([^"]+)"', page.text).group(1)
        sent = self.request(
            "POST", f"/b/{slug}/submit", form={"ballot": ballot, "line.library": "198000"}
        )
        return page, sent


def _start(folder: Path, database_url: str) -> Iterator[Site]:
    upgrade(database_url)
    make_staff(database_url, "ada@city.gov")
    make_staff(database_url, "bea@city.gov")
    (folder / "logging.json").write_text(json.dumps(LOG_CONFIG))
    env = {
        **os.environ,
        "BUDGET_SIM_DATABASE_URL": database_url,
        "BUDGET_SIM_INSTANCE_DIR": str(folder / "instance"),  # no key yet: the workers race
        "BUDGET_SIM_WARM_INSIGHTS": "1",
        "BUDGET_SIM_INTERVAL_RESAMPLES": "20",
    }
    port = _free_port()
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "--factory", "budget_sim.web.app:create_app"),
                *("--workers", "2", "--host", "127.0.0.1", "--port", str(port)),
                *("--log-config", str(folder / "logging.json")),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while log_path.read_text().count("Application startup complete") < 2:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.1)
        site = Site(port, log_path, database_url)
        assert len(site.workers()) == 2, site.workers()
        site.sign_in("ada@city.gov")
        site.sign_in("bea@city.gov")
        yield site
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp(f"workers-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'budget-sim.db'}"
    else:
        assert POSTGRES_URL is not None
        url = POSTGRES_URL
        _fresh_postgres(url)
    yield from _start(folder, url)


def _from_both(site: Site, ask: Callable[[], Answer], *, at_least: int = 4) -> list[Answer]:
    """Ask again (at least `at_least` times) until both workers have answered: the kernel
    hands new connections to whichever worker accepts first, often the same one for a while."""
    answers: list[Answer] = []
    while len(answers) < at_least or {a.worker for a in answers} != set(site.workers()):
        assert len(answers) < 200, "one worker answered every connection"
        answers.append(ask())
    return answers


def test_a_new_budget_and_its_revision_reach_every_worker_within_a_second(site):
    slug = "springfield-fy2027"
    first = site.upload("ada@city.gov", slug, "Springfield, first edition")
    assert site.publish("ada@city.gov", slug, first).status == 303
    # At once, on every worker: no 404 (a worker that has not heard of it asks the database).
    answers = _from_both(site, lambda: site.request("GET", f"/b/{slug}"))
    assert {a.status for a in answers} == {200}
    assert all("Springfield, first edition" in a.text for a in answers)

    # Residents submit at once, the page from one worker and the form to another: the ballot
    # key and the budget are the same everywhere.
    sends = []
    while not any(page.worker != sent.worker for page, sent in sends):
        assert len(sends) < 100, "every form went back to the worker that made it"
        sends.append(site.submit(slug))
    assert {sent.status for _, sent in sends} == {303}, sends[0][1].text
    stored = sql(
        site.database_url, "SELECT count(*) FROM submissions WHERE budget_slug = :s", s=slug
    )
    assert stored == [(len(sends),)]

    second = site.upload("ada@city.gov", slug, "Springfield, second edition", revise=True)
    assert site.publish("ada@city.gov", slug, second).status == 303
    published = time.monotonic()
    seen = []
    while time.monotonic() < published + 1.0:
        seen.append(site.request("GET", f"/b/{slug}"))
    late = _from_both(site, lambda: site.request("GET", f"/b/{slug}"))  # a second on
    assert all("Springfield, second edition" in answer.text for answer in late)
    # Once a worker served the revision, it never went back to the older one.
    for worker in site.workers():
        editions = ["second" in a.text for a in seen + late if a.worker == worker]
        assert editions == sorted(editions), editions


def _publish_at_once(site: Site, slug: str, who: list[tuple[str, int]]) -> dict[int, Answer]:
    """Each admin publishes a revision, all at the same moment: revision -> answer."""
    tokens = {email: site.csrf(email) for email, _ in who}
    barrier = threading.Barrier(len(who))
    results: dict[int, Answer] = {}

    def publish(email: str, revision: int) -> None:
        barrier.wait()
        results[revision] = site.publish(email, slug, revision, tokens[email])

    threads = [threading.Thread(target=publish, args=pair) for pair in who]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_admins_publishing_at_once_leave_the_newer_revision(site):
    slug = "ogdenville-fy2027"
    base = site.upload("ada@city.gov", slug, "Ogdenville, edition 1")
    assert site.publish("ada@city.gov", slug, base).status == 303
    for attempt in range(10):
        older = site.upload("ada@city.gov", slug, f"Ogdenville {attempt}a", revise=True)
        newer = site.upload("bea@city.gov", slug, f"Ogdenville {attempt}b", revise=True)
        assert newer == older + 1
        results = _publish_at_once(site, slug, [("ada@city.gov", older), ("bea@city.gov", newer)])
        assert results[newer].status == 303, results[newer].text
        assert results[older].status in (303, 409)
        if results[older].status == 409:
            assert "is already published" in results[older].text
        newest = sql(
            site.database_url,
            "SELECT max(revision) FROM budget_packages WHERE slug = :s AND status = 'published'",
            s=slug,
        )
        assert newest == [(newer,)]
    time.sleep(0.6)
    answers = _from_both(site, lambda: site.request("GET", f"/b/{slug}"))
    assert all("Ogdenville 9b" in answer.text for answer in answers)


def _count(answer: Answer) -> int:
    return int(re.search(r"<strong>([\d,]+)</strong> submission", answer.text).group(1))


def test_a_submission_set_aside_leaves_every_worker_at_once(site):
    slug, ada = "shelbyville-fy2027", "ada@city.gov"
    revision = site.upload("ada@city.gov", slug, "Shelbyville")
    assert site.publish("ada@city.gov", slug, revision).status == 303
    receipts = []
    for _ in range(3):
        _, sent = site.submit(slug)
        assert sent.status == 303
        receipts.append(sent.headers["location"].rsplit("/", 1)[1])
    results = site.request(
        "POST",
        f"/staff/budgets/{slug}/results",
        form={"publish": "1", "csrf": site.csrf("ada@city.gov")},
        staff="ada@city.gov",
    )
    assert results.status == 303

    def rows(answer: Answer) -> int:
        return len(answer.text.strip().splitlines()) - 1  # a CSV file, without its header

    def views() -> dict[str, list[tuple[int, int]]]:
        """What the dashboard, the export and the public open data count, per worker."""
        asks = {
            "dashboard": (lambda: site.request("GET", f"/staff/b/{slug}", staff=ada), _count),
            "export": (
                lambda: site.request("GET", f"/staff/b/{slug}/submissions.csv", staff=ada),
                rows,
            ),
            "open data": (lambda: site.request("GET", f"/b/{slug}/results/open-data.csv"), rows),
        }
        return {
            name: [(answer.worker, count(answer)) for answer in _from_both(site, ask, at_least=2)]
            for name, (ask, count) in asks.items()
        }

    before = views()  # every worker has these figures in its caches now
    assert {name: {n for _, n in counted} for name, counted in before.items()} == {
        "dashboard": {3},
        "export": {3},
        "open data": {3},
    }
    aside = site.request(
        "POST",
        f"/staff/b/{slug}/set-aside",
        form={"receipt": receipts[0], "csrf": site.csrf(ada)},
        staff=ada,
    )
    assert aside.status == 303 and "aside=set-aside" in aside.headers["location"]
    after = views()  # at once, no waiting, on both workers
    assert {name: {n for _, n in counted} for name, counted in after.items()} == {
        "dashboard": {2},
        "export": {2},
        "open data": {2},
    }, after


def test_the_warm_up_runs_in_one_worker_and_intervals_are_computed_once(site):
    log = site.log.read_text()
    assert log.count("Application startup complete") == 2
    assert log.count("insight warm-up of") == 1, log
    assert log.count("insight warm-up left to the worker that holds it") == 1, log

    slug = "capital-city-fy2027"
    revision = site.upload("ada@city.gov", slug, "Capital City")
    assert site.publish("ada@city.gov", slug, revision).status == 303
    for _ in range(4):
        assert site.submit(slug)[1].status == 303
    shown: dict[int, str] = {}
    deadline = time.monotonic() + 30
    while len(shown) < 2 or not all(shown.values()):
        assert time.monotonic() < deadline, shown
        fragment = site.request("GET", f"/staff/b/{slug}/headline-intervals", staff="bea@city.gov")
        assert fragment.status == 200
        table = re.search(r"<tbody>.*?</tbody>", fragment.text, re.S)
        ready = table is not None and "hx-get" not in fragment.text
        shown[fragment.worker] = table.group(0) if ready else ""
        time.sleep(0.05)
    assert len(set(shown.values())) == 1  # the same intervals on both workers
    log = site.log.read_text()
    for method in ("mean", "utilitarian"):  # the headline and its truthful neighbour, once each
        assert log.count(f"intervals of {slug} ({method}) computed") == 1, log
