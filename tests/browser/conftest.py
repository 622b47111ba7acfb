"""Browser journeys: Debian's Chromium driven by Playwright against a real uvicorn server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import create_engine, text

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless: Playwright cannot download a browser of its own here."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium: .ci/run installs the chromium package")
        pytest.skip("browser journeys need Chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    database_url: str
    env: dict[str, str] = field(default_factory=dict, repr=False)

    def cli(self, *args: str, stdin: str = "") -> str:
        """`budget-sim ARGS` on this server's database, as an operator runs it: its output."""
        done = subprocess.run(
            [sys.executable, "-m", "budget_sim", *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"budget-sim {' '.join(args)}: {done.stderr}"
        return done.stdout

    def submissions(self) -> int:
        engine = create_engine(self.database_url)
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM submissions")).scalar_one()
        engine.dispose()
        return count


@contextmanager
def running_server(folder: Path, **env_settings: str) -> Iterator[Server]:
    """`budget-sim db upgrade` then `budget-sim serve` on a free port, as a user would run them,
    with the database and instance folder in `folder` and any other BUDGET_SIM_* settings."""
    database_url = f"sqlite:///{folder / 'budget-sim.db'}"
    env = {
        **os.environ,
        "BUDGET_SIM_DATABASE_URL": database_url,
        "BUDGET_SIM_INSTANCE_DIR": str(folder / "instance"),
        "BUDGET_SIM_WARM_INSIGHTS": "0",
        **env_settings,
    }
    command = [sys.executable, "-m", "budget_sim"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:  # refused, reset or a probe timed out on a busy machine: try again
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((folder / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield Server(url, database_url, env)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def create_staff(server: Server, email: str, password: str, *, role: str, name: str) -> None:
    """As the README says: `budget-sim create-staff --password-stdin` on the server's database."""
    args = ("create-staff", email, "--name", name, "--role", role, "--password-stdin")
    server.cli(*args, stdin=password + "\n")


def sign_in(page: Page, email: str, password: str) -> None:
    """Fill in and send the staff sign-in form the page shows."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def upload_file(name: str, data: bytes, mime_type: str = "text/csv") -> dict:
    """A file for `set_input_files`, as if chosen in the file picker."""
    return {"name": name, "mimeType": mime_type, "buffer": data}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real server on the shipped budgets, shared by the journeys."""
    with running_server(tmp_path_factory.mktemp("server")) as running:
        yield running
