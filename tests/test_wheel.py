"""The wheel is the product: built, installed into a fresh venv outside the repository, it migrates
and serves the default budget, CSS and htmx included, from an empty folder.

For speed the new venv does not download the dependencies again: a .pth file adds this project's
venv's site-packages to its path. A path added by a .pth is not scanned for .pth files, so the
editable install of the checkout stays out of sight and `budget_sim` must come from the wheel."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SLUG = "cambridge-fy2026"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    env: dict[str, str]

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "budget-sim"), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel of this checkout, installed (without its dependencies) in a new venv."""
    folder = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", folder, ROOT],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = folder.glob("budget_sim-*.whl")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    done = subprocess.run(
        [*pip, "--python", venv / "bin" / "python", "install", "--no-deps", wheel],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    new_site = subprocess.run(
        [venv / "bin" / "python", "-c", purelib], capture_output=True, text=True, check=True
    ).stdout.strip()
    (Path(new_site) / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("BUDGET_SIM_")}
    env["BUDGET_SIM_WARM_INSIGHTS"] = "false"
    return Installed(wheel, venv, env)


@dataclass(frozen=True)
class Site:
    url: str
    folder: Path


@pytest.fixture(scope="module")
def site(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """From an empty folder: `budget-sim db upgrade`, then `budget-sim serve --port P`."""
    folder = tmp_path_factory.mktemp("empty")
    upgraded = installed.run("db", "upgrade", cwd=folder)
    assert upgraded.returncode == 0, upgraded.stderr
    port = _free_port()
    log = (folder.parent / "server.log").open("w")
    process = subprocess.Popen(
        [installed.venv / "bin" / "budget-sim", "serve", "--port", str(port)],
        cwd=folder,
        env=installed.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if _get(url + "/healthz")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((folder.parent / "server.log").read_text())
        time.sleep(0.2)
    try:
        yield Site(url, folder)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_the_wheel_carries_templates_static_htmx_budgets_and_migrations(installed: Installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    shipped = "budget_sim/_resources/"
    for expected in (
        "templates/base.html",
        "static/vendor/htmx.min.js",
        f"budget_data/{SLUG}/budget.toml",
        f"budget_data/{SLUG}/lines.csv",
        "migrations/env.py",
    ):
        assert shipped + expected in names
    assert any(name.startswith(shipped + "migrations/versions/0001_") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_budget_sim_comes_from_the_wheel_not_the_checkout(installed: Installed, tmp_path: Path):
    found = subprocess.run(
        [installed.venv / "bin" / "python", "-c", "import budget_sim; print(budget_sim.__file__)"],
        cwd=tmp_path,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(installed.venv)


def test_the_installed_site_serves_the_default_budget_with_css_and_htmx(site: Site):
    assert _get(site.url + "/readyz")[:3:2] == (200, b"ready")
    status, _, body = _get(site.url + "/")
    assert status == 200
    home = body.decode()
    assert f"/b/{SLUG}" in home
    status, _, body = _get(f"{site.url}/b/{SLUG}")
    assert status == 200
    page = body.decode()
    assert "Cambridge" in page
    stylesheets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', page)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert stylesheets and any("htmx.min.js" in src for src in scripts)
    for href in stylesheets:
        path = href if href.startswith("/") else "/" + href.split("/", 3)[-1]
        status, kind, css = _get(site.url + path)
        assert status == 200 and kind.startswith("text/css") and css
    status, _, js = _get(site.url + "/static/vendor/htmx.min.js")
    assert status == 200 and b"htmx" in js


def test_the_site_keeps_its_files_in_the_folder_it_was_started_in(site: Site, installed: Installed):
    assert (site.folder / "instance" / "budget-sim.db").is_file()
    assert (site.folder / "instance" / "secret_key").is_file()
    assert not list(installed.venv.rglob("instance"))
