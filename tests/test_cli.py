"""`budget-sim` as an operator meets it: documented options, one-line errors with a non-zero exit
(never a traceback), and commands that do what they say, on both databases."""

from __future__ import annotations

import json
import os
import random
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from budget_sim import __version__, cli, resources
from budget_sim.data import load_package
from budget_sim.demo import PlanMaker, district_answers
from budget_sim.settings import Settings
from budget_sim.storage import Database, NewSubmission, count_submissions, save_many, upgrade
from budget_sim.storage.migrate import schema_status
from tests.conftest import POSTGRES_URL, _fresh_postgres

SLUG = "cambridge-fy2026"
PASSWORD = "a long enough staff password"


def run(settings: Settings | None, *args: str, stdin: str | None = None, **env: str) -> Result:
    """`budget-sim ARGS` with `settings` (None: from the environment, plus `env`)."""
    return CliRunner(env=env or None).invoke(cli.main, list(args), obj=settings, input=stdin)


def one_line_error(result: Result, code: int = 1) -> str:
    """The error of a failed command: exactly one line on stderr, nothing on stdout."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        instance_dir=tmp_path / "instance",
        secret_key="test-secret-key-not-for-production",
        warm_insights=False,
    )


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return found


# --- help and version ----------------------------------------------------------------------


def test_version():
    for flag in ("--version", "-V"):
        result = run(None, flag)
        assert result.exit_code == 0
        assert result.stdout.strip() == f"budget-sim, version {__version__}"


def _commands(group: click.Group, path: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{path}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{path}{name} "))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(cli.main), ids=lambda v: str(v))
def test_every_command_option_and_argument_has_help(name: str, command: click.Command):
    assert command.help, f"{name} has no description"
    result = run(None, *name.split(), "--help")
    assert result.exit_code == 0
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts[0]} has no help"
        elif isinstance(param, click.Argument):
            assert param.human_readable_name in command.help, f"{name} does not explain {param}"


def test_help_shows_the_defaults():
    serve = run(None, "serve", "--help").stdout
    assert "[default: 8000" in serve and "[default: 127.0.0.1]" in serve
    assert "--workers" in serve and "[default: 1" in serve
    assert "[default: 1000" in run(None, "demo", "--help").stdout
    assert "[default: admin]" in run(None, "create-staff", "--help").stdout


# --- one-line errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "must look like sqlite:///"),
        ("postgresql://budget:hunter2secret@db.example.org/budget", "+psycopg"),
        ("mysql://budget:hunter2secret@db.example.org/budget", "postgresql+psycopg://"),
    ],
)
def test_a_bad_database_url_is_one_line(url: str, expected: str):
    for args in (["db", "upgrade"], ["insights", SLUG], ["serve"]):
        line = one_line_error(run(None, *args, BUDGET_SIM_DATABASE_URL=url))
        assert "BUDGET_SIM_DATABASE_URL" in line and expected in line
        assert "hunter2secret" not in line


def test_an_unreachable_database_is_one_line_without_its_password():
    url = "postgresql+psycopg://budget:hunter2secret@127.0.0.1:1/budget"
    for args in (["db", "upgrade"], ["insights", SLUG], ["serve"]):
        line = one_line_error(run(None, *args, BUDGET_SIM_DATABASE_URL=url))
        assert "cannot use the database postgresql+psycopg://budget:***@127.0.0.1:1" in line
        assert "hunter2secret" not in line


def test_a_bad_setting_is_one_line():
    line = one_line_error(run(None, "db", "upgrade", BUDGET_SIM_INTERVAL_RESAMPLES="5"))
    assert "BUDGET_SIM_INTERVAL_RESAMPLES" in line


@pytest.mark.parametrize(
    "args",
    [
        ["insights", SLUG],
        ["demo", SLUG, "--residents", "5"],
        ["embed", SLUG, "--base-url", "https://budget.example.org"],
        ["create-staff", "admin@city.gov", "--password-stdin"],
    ],
    ids=lambda args: args[0],
)
def test_an_unmigrated_database_says_to_run_db_upgrade(
    unmigrated_database_url: str, tmp_path: Path, args: list[str]
):
    settings = settings_for(unmigrated_database_url, tmp_path)
    line = one_line_error(run(settings, *args, stdin=PASSWORD + "\n"))
    assert "has no tables yet: run `budget-sim db upgrade`" in line
    assert schema_status(unmigrated_database_url) == "empty"  # and nothing was created


def test_an_outdated_schema_says_to_run_db_upgrade(unmigrated_database_url: str, tmp_path: Path):
    upgrade(unmigrated_database_url, "0005")
    settings = settings_for(unmigrated_database_url, tmp_path)
    line = one_line_error(run(settings, "insights", SLUG))
    assert "older schema" in line and "run `budget-sim db upgrade`" in line
    assert run(settings, "db", "upgrade").exit_code == 0
    assert run(settings, "insights", SLUG).exit_code == 0


def test_demo_refuses_a_negative_count_as_a_usage_error(settings: Settings):
    line = one_line_error(run(settings, "demo", SLUG, "--residents", "-5"), code=2)
    assert "Invalid value for '--residents'" in line and "budget-sim demo --help" in line
    assert count(settings.database_url, "submissions") == 0


@pytest.mark.parametrize("email", ["not an email at all", "admin@", "@city.gov", "a@b@city.gov"])
def test_create_staff_refuses_what_is_not_an_email(settings: Settings, email: str):
    line = one_line_error(run(settings, "create-staff", email, "--password-stdin"), code=2)
    assert "is not an email address" in line
    assert count(settings.database_url, "staff_users") == 0


# --- commands that work ----------------------------------------------------------------------


def test_create_staff_creates_one_account_and_refuses_a_second(settings: Settings):
    args = ("create-staff", "Budget.Office@City.gov", "--role", "analyst", "--password-stdin")
    args = (*args, "--budget", SLUG)
    result = run(settings, *args, stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created analyst budget.office@city.gov" in result.stdout
    line = one_line_error(run(settings, *args, stdin=PASSWORD + "\n"))
    assert "nothing was created" in line
    weak = run(settings, "create-staff", "b@city.gov", "--password-stdin", stdin="short\n")
    line = one_line_error(weak)
    assert "the password must be at least 12 characters" in line
    assert count(settings.database_url, "staff_users") == 1


@pytest.mark.parametrize(
    ("choice", "budgets"),
    [((), None), (("--all-budgets",), "*"), (("--budget", SLUG, "--budget", "chicago-fy2026"), 2)],
)
def test_an_analyst_sees_only_the_budgets_given(settings: Settings, choice, budgets):
    args = ("create-staff", "analyst@city.gov", "--role", "analyst", "--password-stdin", *choice)
    result = run(settings, *args, stdin=PASSWORD + "\n")
    if budgets is None:  # neither: refused, so nobody is given every budget by omission
        line = one_line_error(result)
        assert "--budget" in line and "--all-budgets" in line and "nothing was created" in line
        assert count(settings.database_url, "staff_users") == 0
        return
    assert result.exit_code == 0, result.output
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT budgets FROM staff_users")).scalar_one()
    engine.dispose()
    assert stored == "*" if budgets == "*" else len(json.loads(stored)) == budgets


def test_demo_adds_submissions_with_a_progress_bar(settings: Settings):
    result = run(settings, "demo", SLUG, "--residents", "30", "--seed", "7", "--batch", "8")
    assert result.exit_code == 0, result.output
    assert "Added 30 synthetic submissions" in result.stdout
    assert "synthetic submissions" in result.stderr  # the bar's label
    database = Database(settings.database_url)
    with database.reading() as session:
        assert count_submissions(session, SLUG) == 30
    database.dispose()
    shown = run(settings, "insights", SLUG, "--include-synthetic")
    assert shown.exit_code == 0 and "30 submissions (including synthetic)" in shown.stdout


# --- serve ---------------------------------------------------------------------------------


@pytest.fixture
def postgres_settings(tmp_path: Path) -> Settings:
    """The PostgreSQL test database, reset and not migrated."""
    if not POSTGRES_URL:
        pytest.skip("needs PostgreSQL (BUDGET_SIM_TEST_DATABASE_URL)")
    _fresh_postgres(POSTGRES_URL)
    return settings_for(POSTGRES_URL, tmp_path)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """A migrated SQLite database."""
    settings = settings_for(f"sqlite:///{tmp_path / 'instance' / 'budget-sim.db'}", tmp_path)
    upgrade(settings.database_url)
    return settings


def test_serve_refuses_an_unmigrated_or_outdated_postgresql_schema(postgres_settings: Settings):
    line = one_line_error(run(postgres_settings, "serve", "--port", "8519"))
    assert "has no tables yet: run `budget-sim db upgrade`" in line
    upgrade(postgres_settings.database_url, "0005")
    line = one_line_error(run(postgres_settings, "serve", "--port", "8519"))
    assert "older schema" in line and "run `budget-sim db upgrade`" in line


def test_serve_migrates_sqlite_and_creates_the_key_once_before_its_workers(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("BUDGET_SIM_")}
    env["BUDGET_SIM_WARM_INSIGHTS"] = "false"
    log = (tmp_path / "serve.log").open("w")
    folder = tmp_path / "site"
    folder.mkdir()
    command = [sys.executable, "-m", "budget_sim", "serve", "--workers", "2", "--port", str(port)]
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, status = time.monotonic() + 60, None
        while status != 200 and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    status = response.status
            except OSError:
                time.sleep(0.2)
        assert status == 200, (tmp_path / "serve.log").read_text()
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert len(children) >= 2  # the two workers (uvicorn's supervisor is the parent)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    instance = folder / "instance"
    assert schema_status(f"sqlite:///{instance / 'budget-sim.db'}") == "current"
    assert len((instance / "secret_key").read_text().strip()) >= 32
    assert "Migrated the SQLite database" in (tmp_path / "serve.log").read_text()


# --- backup --------------------------------------------------------------------------------


def test_backup_copies_sqlite_and_the_copy_restores_with_the_submissions(
    sqlite_settings: Settings, tmp_path: Path
):
    settings = sqlite_settings
    assert run(settings, "demo", SLUG, "--residents", "25", "--seed", "1").exit_code == 0
    copy = tmp_path / "backups" / "budget-sim-copy.db"
    line = one_line_error(run(settings, "backup", str(copy)))
    assert f"there is no folder {copy.parent}" in line
    copy.parent.mkdir()
    result = run(settings, "backup", str(copy))
    assert result.exit_code == 0, result.output
    assert f"Wrote {copy}" in result.stdout and "secret_key" not in result.stdout
    assert "exists" in one_line_error(run(settings, "backup", str(copy)))
    assert run(settings, "backup", str(copy), "--force").exit_code == 0
    # restore: the copy becomes another site's database
    restored = tmp_path / "restored" / "instance"
    restored.mkdir(parents=True)
    copy.rename(restored / "budget-sim.db")
    other = Settings(
        instance_dir=restored,
        secret_key="another-key-for-the-restored-site-0123",
        warm_insights=False,
    )
    assert other.database_url == f"sqlite:///{restored / 'budget-sim.db'}"
    shown = run(other, "insights", SLUG, "--include-synthetic")
    assert shown.exit_code == 0 and "25 submissions (including synthetic)" in shown.stdout


def test_backup_is_consistent_while_submissions_are_written(
    sqlite_settings: Settings, tmp_path: Path
):
    settings = sqlite_settings
    budget = load_package(resources.budget_data() / SLUG)
    maker, rng = PlanMaker(budget, seed=3), random.Random(3)
    database, stop = Database(settings.database_url), threading.Event()

    def write() -> None:
        for plan in maker.plans(10_000):
            if stop.is_set():
                return
            one = NewSubmission(
                budget_slug=SLUG,
                budget_digest=budget.version,
                line_ids=budget.line_ids,
                nonce=secrets.token_hex(16),
                amounts=plan,
                answers=district_answers(budget, rng),
            )
            with database.writing() as session:
                save_many(session, [one])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = []
        for number in range(3):
            copy = tmp_path / f"copy-{number}.db"
            result = run(settings, "backup", str(copy))
            assert result.exit_code == 0, result.output
            copies.append(count(f"sqlite:///{copy}", "submissions"))
    finally:
        stop.set()
        writer.join()
        database.dispose()
    assert copies == sorted(copies) and copies[-1] <= count(settings.database_url, "submissions")


def test_backup_on_postgresql_gives_the_pg_dump_command(postgres_settings: Settings, tmp_path):
    target = tmp_path / "budget-sim.dump"
    line = one_line_error(run(postgres_settings, "backup", str(target)))
    assert "pg_dump --format=custom" in line and f"--file={target}" in line
    url = postgres_settings.database_url
    assert "--dbname=postgresql://" in line and "+psycopg" not in line
    password = make_url(url).password
    assert not password or f":{password}@" not in line
    assert not target.exists()
    if not shutil.which("pg_dump"):
        return
    upgrade(url)  # the command works as printed (the password comes from PGPASSWORD)
    command = shlex.split(line.split("run: ", 1)[1])
    environment = {**os.environ, "PGPASSWORD": password or ""}
    subprocess.run(command, env=environment, check=True, capture_output=True, timeout=120)
    listed = subprocess.run(
        ["pg_restore", "--list", str(target)], check=True, capture_output=True, text=True
    ).stdout
    assert "TABLE public submissions" in listed
