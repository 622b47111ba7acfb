"""The deployment files in deploy/ agree with the app and with each other, and every setting is
documented where an operator looks for it. (tests/browser/test_behind_nginx.py runs the nginx
site file for real.)"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from budget_sim.settings import Settings
from budget_sim.web.staff.budget_upload import UPLOAD_MAX_BYTES

ROOT = Path(__file__).resolve().parents[1]  # the checkout

DEPLOY = ROOT / "deploy"
NGINX = (DEPLOY / "nginx" / "budget-sim.conf").read_text()
GUIDE = (ROOT / "docs" / "deploy.md").read_text()
README = (ROOT / "README.md").read_text()


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]  (keys are case-sensitive)
    unit.read_string((DEPLOY / "budget-sim.service").read_text())
    return unit


def _directives(name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", NGINX, re.M)


def test_nginx_lets_the_largest_upload_through_and_little_more():
    (size,) = _directives("client_max_body_size")
    number, unit = re.fullmatch(r"(\d+)([km]?)", size).groups()
    limit = int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit]
    assert UPLOAD_MAX_BYTES < limit <= 2 * UPLOAD_MAX_BYTES


def test_nginx_tells_the_app_who_the_client_is_and_that_it_used_https():
    headers = dict(h.split(None, 1) for h in _directives("proxy_set_header"))
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-For"] == "$remote_addr"  # replaced, never what the client sent
    assert headers["Host"] == "$host"
    assert _directives("gzip") == ["off"]  # BREACH: staff pages stay uncompressed
    assert not _directives("add_header")  # the app sends its own headers, once


def test_nginx_and_the_service_meet_on_the_same_loopback_port():
    (upstream,) = re.findall(r"upstream budget_sim \{\s*server ([\d.]+):(\d+);", NGINX)
    service = _unit()["Service"]
    command = service["ExecStart"]
    assert "budget-sim serve" in command and re.search(r"--workers \d+", command)
    assert f"--host {upstream[0]}" in command and f"--port {upstream[1]}" in command
    settings = Settings()
    assert upstream[0] in {str(ip) for ip in settings.forwarded_allow_ips}


def test_the_service_runs_confined_as_its_own_user_in_the_instance_folder():
    service = _unit()["Service"]
    assert service["User"] == "budget-sim" and service["Group"] == "budget-sim"
    assert service["WorkingDirectory"] == f"/var/lib/{service['StateDirectory']}"
    assert service["EnvironmentFile"] == "/etc/budget-sim/budget-sim.env"
    assert service["Restart"] == "on-failure"
    for option in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "RestrictSUIDSGID"):
        assert service[option] == "yes", option
    assert service["ProtectSystem"] == "strict"


def test_the_example_settings_file_is_valid():
    settings = Settings(_env_file=DEPLOY / "budget-sim.env")  # type: ignore[call-arg]
    assert settings.base_url == "https://budget.example.org"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert "budget.example.org" in settings.trusted_hosts


@pytest.mark.parametrize("document", ["README.md", "docs/deploy.md"])
def test_every_setting_is_in_the_settings_tables(document):
    text = README if document == "README.md" else GUIDE
    rows = set(re.findall(r"^\| `(BUDGET_SIM_[A-Z_]+)` \|", text, re.M))
    expected = {f"BUDGET_SIM_{name.upper()}" for name in Settings.model_fields}
    assert expected - rows == set(), f"{document} does not document {expected - rows}"
    assert rows - expected == set(), f"{document} documents settings that do not exist"


def test_the_guide_names_only_files_that_exist():
    for path in re.findall(r"\]\(\.\./(deploy/[^)#]+)\)", GUIDE):
        assert (ROOT / path).exists(), path
    assert "docs/deploy.md" in README
