"""The way a city runs it (issue 9): Chromium through https:// on Debian's nginx, configured by
the shipped deploy/nginx/budget-sim.conf with a self-signed certificate, in front of the app with
two workers on PostgreSQL. A resident submits; an admin publishes a revision through one worker
and residents answered by both workers get it; an analyst downloads an export. No request goes
out over http, the browser blocks nothing and reports no CSP violation."""

from __future__ import annotations

import concurrent.futures
import csv
import http.client
import io
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from budget_sim.money import to_units_text
from tests.browser.conftest import Server, _free_port, create_staff, sign_in
from tests.browser.resident import Watched, pick_pair, watching
from tests.conftest import POSTGRES_URL, _fresh_postgres

ROOT = Path(__file__).resolve().parents[2]  # the checkout

SITE_CONF = ROOT / "deploy" / "nginx" / "budget-sim.conf"
SLUG = "cambridge-fy2026"
REVISED_TITLE = "Cambridge FY2026, as revised after the hearing"
ADMIN = ("budget.office@cambridgema.gov", "the budget office opens in june")
ANALYST = ("analyst@cambridgema.gov", "numbers tell a story when asked")
SLOW = 20_000  # an upload check, a cold dashboard, an export on a busy 2-core machine
FRESH_WITHIN = 1.0  # seconds: a worker answers from a set checked at most 0.5 s before
LOADS = 40  # residents loading the budget after the revision, at least
WORKERS = 2


def app_command(port: int) -> list[str]:
    """The app as the systemd unit runs it: `budget-sim serve --workers N`."""
    executable = Path(sys.executable).with_name("budget-sim")
    return [str(executable), "serve", "--workers", str(WORKERS), "--port", str(port)]


def site_config(app_port: int, tls_port: int, http_port: int, cert: Path, key: Path) -> str:
    """The shipped site file with this machine's ports and certificate. Each replaced line must
    be there, so a change to the shipped file cannot leave this test checking something else."""
    text = SITE_CONF.read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{tls_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "/etc/letsencrypt/live/budget.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/budget.example.org/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{SITE_CONF} no longer has {old!r} once"
        text = text.replace(old, new)
    return text


def main_config(folder: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the site, with this run's own paths."""
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    user = f"user {os.environ.get('USER', 'root')};" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder / "access.log"};
    gzip on;  # as Debian's nginx.conf: the site must turn it off for itself
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder / "budget-sim.conf"};
}}
"""


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    context = ssl._create_unverified_context()  # the self-signed certificate
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{url} did not answer:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)


@contextmanager
def _process(command: list[str], log: Path, url: str, **kwargs) -> Iterator[subprocess.Popen]:
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **kwargs)
        try:
            _wait_for(url, process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Site:
    url: str  # https://127.0.0.1:PORT, through nginx
    http_url: str  # nginx's plain http port, which only redirects
    server: Server  # the app's environment, for `budget-sim` commands
    app: subprocess.Popen
    app_port: int
    folder: Path

    def workers(self) -> list[int]:
        """The app's worker processes: its children that hold its listening socket."""
        listening = _listening_inodes(self.app_port)
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.app.pid and _sockets_of(stat.parent) & listening:
                found.append(int(stat.parent.name))
        return sorted(found)


def _listening_inodes(port: int) -> set[int]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def _sockets_of(proc: Path) -> set[int]:
    inodes = set()
    try:
        for fd in (proc / "fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def _sent(site: Site) -> dict[tuple[int, int], int]:
    """(worker pid, connection inode) -> bytes that worker has sent over that connection from
    nginx, as the kernel counts them (`ss`). nginx keeps its connections to the workers open and
    reuses them, so which connections a worker holds does not say whether it answered; what it
    sent over them does."""
    listing = subprocess.run(
        ["ss", "-tinpeH", "state", "established", f"( sport = :{site.app_port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sent = {}
    for record in re.split(r"\n(?=\S)", listing.strip()):
        pid, inode = re.search(r"pid=(\d+),", record), re.search(r"\bino:(\d+)", record)
        if pid and inode:
            found = re.search(r"\bbytes_sent:(\d+)", record)
            sent[(int(pid[1]), int(inode[1]))] = int(found[1]) if found else 0
    return sent


def _answered(before: dict, after: dict, at_least: int) -> set[int]:
    """Workers that sent at least `at_least` bytes between the two listings."""
    sent: dict[int, int] = {}
    for (pid, inode), total in after.items():
        sent[pid] = sent.get(pid, 0) + total - before.get((pid, inode), 0)
    return {pid for pid, total in sent.items() if total >= at_least}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if POSTGRES_URL is None:
        pytest.skip(
            "the journey through nginx runs on PostgreSQL: set BUDGET_SIM_TEST_DATABASE_URL "
            "(CI does, see .ci/run)"
        )
    missing = [tool for tool in ("nginx", "openssl") if not _tool(tool)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs {', '.join(missing)}: .ci/run installs them")
        pytest.skip(f"the journey through nginx needs {', '.join(missing)} (apt-get install)")
    folder = tmp_path_factory.mktemp("behind-nginx")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *[_tool("openssl"), "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"],
            *["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
            *["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            *["-keyout", str(key), "-out", str(cert)],
        ],
        check=True,
        capture_output=True,
    )
    app_port, tls_port, http_port = _free_port(), _free_port(), _free_port()
    url = f"https://127.0.0.1:{tls_port}"
    _fresh_postgres(POSTGRES_URL)
    env = {
        **os.environ,
        "BUDGET_SIM_DATABASE_URL": POSTGRES_URL,
        "BUDGET_SIM_INSTANCE_DIR": str(folder / "instance"),
        "BUDGET_SIM_SECRET_KEY": "a key every worker shares, as docs/deploy.md says to set",
        "BUDGET_SIM_BASE_URL": url,
        "BUDGET_SIM_WARM_INSIGHTS": "0",
    }
    server = Server(url, POSTGRES_URL, env)
    server.cli("db", "upgrade")
    (folder / "budget-sim.conf").write_text(site_config(app_port, tls_port, http_port, cert, key))
    (folder / "nginx.conf").write_text(main_config(folder))
    nginx = [_tool("nginx"), "-p", str(folder), "-c", str(folder / "nginx.conf")]
    test = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    with ExitStack() as running:
        app = running.enter_context(
            _process(
                app_command(app_port),
                folder / "app.log",
                f"http://127.0.0.1:{app_port}/",
                env=env,
                cwd=folder,
            )
        )
        running.enter_context(
            _process([*nginx, "-g", "daemon off;"], folder / "nginx.log", f"{url}/")
        )
        yield Site(url, f"http://127.0.0.1:{http_port}", server, app, app_port, folder)


def _tool(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(path) for path in (Path("/usr/sbin") / name, Path("/sbin") / name) if path.exists()),
        None,
    )


def _load(site: Site) -> str:
    """A resident opening the budget over a connection of their own."""
    host, port = site.url.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(
        host, int(port), context=ssl._create_unverified_context(), timeout=30
    )
    try:
        connection.request("GET", f"/b/{SLUG}", headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read().decode()
        assert response.status == 200, (response.status, body[:500])
        return body
    finally:
        connection.close()


def _heading(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found, html[:500]
    return found.group(1).strip()


def _watch_everything(watched: Watched, site: Site) -> tuple[list[str], list[str]]:
    """Every URL requested and every request that failed, for the whole context."""
    requested: list[str] = []
    failed: list[str] = []
    watched.context.on("request", lambda request: requested.append(request.url))

    def on_failure(request: Request) -> None:
        # htmx drops a recalculation the resident's next move has made pointless: not a failure
        superseded = request.failure == "net::ERR_ABORTED" and request.headers.get("hx-request")
        if not superseded:
            failed.append(f"{request.method} {request.url}: {request.failure}")

    watched.context.on("requestfailed", on_failure)
    return requested, failed


def _assert_clean(watched: Watched, requested: list[str], failed: list[str], site: Site) -> None:
    assert requested, "no request was recorded"
    foreign = [url for url in requested if not url.startswith(f"{site.url}/")]
    assert foreign == [], f"requests not to {site.url} (mixed content?): {foreign}"
    assert failed == [], failed
    blocked = [text for text in watched.console if "Mixed Content" in text or "blocked" in text]
    assert blocked == [], blocked
    assert watched.csp_violations() == [], watched.csp_violations()
    assert watched.errors == [], watched.errors
    assert {status for status in watched.statuses() if status >= 500} == set()


def _submit_a_rebalanced_budget(page: Page) -> None:
    raised, cut, cut_steps = pick_pair()
    status = page.locator("#balance-status")
    expect(status).to_contain_text("Balanced")
    for line, value in (
        (raised, raised["amount"] + 3 * raised["step"]),
        (cut, cut["amount"] - cut_steps * cut["step"]),
    ):
        section = page.locator("details.department", has=page.locator(f"#line-{line['id']}"))
        if section.get_attribute("open") is None:
            section.locator(":scope > summary").click()
        # htmx posts the form to the app through nginx and swaps the totals
        page.locator(f"#n-{line['id']}").fill(to_units_text(value))
    expect(status).to_contain_text("Balanced")
    page.get_by_role("button", name="Submit my budget").click()
    expect(page).to_have_url(re.compile(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}$"))


def test_plain_http_only_sends_the_browser_to_https(site: Site):
    assert len(site.workers()) == WORKERS, site.workers()
    request = urllib.request.Request(f"{site.http_url}/b/{SLUG}", method="GET")
    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(_NoRedirect).open(request, timeout=10)
    redirect.value.close()
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"].startswith("https://")


def test_a_resident_submits_over_https(browser: Browser, site: Site):
    with watching(browser, ignore_https_errors=True) as watched:
        requested, failed = _watch_everything(watched, site)
        page = watched.page
        page.goto(f"{site.url}/b/{SLUG}")
        response = page.request.get(f"{site.url}/b/{SLUG}")
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        page.screenshot(path=site.folder / "resident-through-nginx.png", full_page=False)
        before = site.server.submissions()
        _submit_a_rebalanced_budget(page)
        share = page.locator("a.permalink")  # the link to keep: from BUDGET_SIM_BASE_URL
        expect(share).to_have_text(re.compile(rf"^{re.escape(site.url)}/b/{SLUG}/r/"))
        page.screenshot(path=site.folder / "receipt-through-nginx.png", full_page=False)
        assert site.server.submissions() == before + 1
        _assert_clean(watched, requested, failed, site)


def test_an_admin_publishes_a_revision_over_https(browser: Browser, site: Site):
    create_staff(site.server, *ADMIN, role="admin", name="Budget Office")
    with watching(browser, ignore_https_errors=True) as watched:
        requested, failed = _watch_everything(watched, site)
        page = watched.page
        page.goto(f"{site.url}/staff/budgets")
        sign_in(page, *ADMIN)
        expect(page.get_by_role("heading", name="Budget files", level=1)).to_be_visible()
        page.get_by_role("link", name=re.compile(r"^New revision of Cambridge")).click()
        page.get_by_label("Title in English").fill(REVISED_TITLE)
        page.get_by_role("button", name="Check the upload").click()
        expect(page.get_by_role("heading", name="No problems found")).to_be_visible(timeout=SLOW)
        page.get_by_role("button", name=re.compile(r"^Publish revision \d+")).click()
        expect(page.get_by_role("status")).to_contain_text("Published.")  # one worker did it
        _assert_clean(watched, requested, failed, site)


def test_residents_answered_by_every_worker_get_the_revision(site: Site):
    time.sleep(FRESH_WITHIN)  # every worker honours a publication within this (README)
    workers = site.workers()
    sent_before = _sent(site)
    answered: set[int] = set()
    pages: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(40):
            pages += pool.map(lambda _: _load(site), range(8))
            page_size = min(len(page.encode()) for page in pages)
            answered |= _answered(sent_before, _sent(site), page_size) & set(workers)
            if len(pages) >= LOADS and answered == set(workers):
                break
    headings = [_heading(page) for page in pages]
    assert answered == set(workers), f"only workers {answered} of {workers} answered"
    stale = [heading for heading in headings if heading != REVISED_TITLE]
    assert stale == [], f"{len(stale)} of {len(headings)} loads got an older revision: {stale[:3]}"


def test_an_analyst_downloads_an_export_over_https(browser: Browser, site: Site):
    email, password = ANALYST
    site.server.cli(
        *["create-staff", email, "--name", "Analyst", "--role", "analyst"],
        *["--budget", SLUG, "--password-stdin"],
        stdin=password + "\n",
    )
    with watching(browser, ignore_https_errors=True, accept_downloads=True) as watched:
        requested, failed = _watch_everything(watched, site)
        page = watched.page
        page.goto(f"{site.url}/staff/login")
        sign_in(page, *ANALYST)
        expect(page.get_by_role("heading", name="Budgets", level=1)).to_be_visible()
        with page.expect_download(timeout=SLOW) as download_info:
            page.get_by_role("link", name=re.compile(r"^CSV of ")).click()
        download = download_info.value
        assert download.url.startswith(f"{site.url}/staff/b/{SLUG}/submissions")
        text = Path(download.path()).read_text("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 1, text[:2000]  # the resident's
        _assert_clean(watched, requested, failed, site)
    assert "Traceback" not in (site.folder / "app.log").read_text()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None
