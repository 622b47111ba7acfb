"""Shared by the benchmark scripts: a throwaway migrated SQLite database, a real server on a free
127.0.0.1 port, and the simulator form as a browser would send it. Not a benchmark itself."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
# Debian's Chromium for the browser benchmarks (Playwright cannot fetch its own here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Environment:
    """A temporary instance: its folder and the environment a server process needs."""

    folder: Path
    env: dict[str, str]


@contextlib.contextmanager
def temporary_instance(database_url: str | None = None) -> Iterator[Environment]:
    """A fresh SQLite database (or `database_url`) migrated with `budget-sim db upgrade`, and
    an instance folder, removed afterwards (a `database_url` database is left as it is)."""
    folder = Path(tempfile.mkdtemp(prefix="budget-sim-bench-"))
    try:
        env = {
            **os.environ,
            "BUDGET_SIM_DATABASE_URL": database_url or f"sqlite:///{folder / 'bench.db'}",
            "BUDGET_SIM_SECRET_KEY": "benchmark-only-secret-key-not-for-production",
            "BUDGET_SIM_INSTANCE_DIR": str(folder / "instance"),
        }
        subprocess.run(
            [str(VENV_BIN / "budget-sim"), "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield Environment(folder, env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def pinned(command: Sequence[str], core: int | None) -> list[str]:
    """`command` under `taskset -c core` when taskset exists and the core is there."""
    taskset = shutil.which("taskset")
    if core is None or taskset is None or core >= (os.cpu_count() or 1):
        return list(command)
    return [taskset, "-c", str(core), *command]


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:port
    pid: int


@contextlib.contextmanager
def running_server(
    command: Sequence[str], env: dict[str, str], port: int, log: Path, start_timeout: float = 30
) -> Iterator[Server]:
    """Start `command` (a server listening on `port`), wait until it answers, stop it after.

    `taskset` execs the server, so the pid is the server's. Only the process started here is
    stopped, by its own pid."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early; see {log}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(base + "/", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"server did not start in {start_timeout:.0f} s; see {log}"
                    ) from None
                time.sleep(0.2)
        yield Server(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


class _FormReader(HTMLParser):
    """The successful controls of <form id=...> in document order, as a browser submits them:
    named inputs (not buttons, not unchecked boxes), textareas, and selects with their selected
    option. Controls outside the form element that name it with form="..." are not handled."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.attrs_by_name: dict[str, dict[str, str]] = {}
        self.sliders: dict[str, dict[str, str]] = {}  # the field a slider pairs with -> attrs
        self.textareas: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._first_option: str | None = None
        self._selected: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("type") == "range" and a.get("data-pair"):
            self.sliders[a["data-pair"]] = a
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
            self.attrs_by_name[a["name"]] = a
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []
            self.textareas.add(a["name"])
        elif tag == "select" and a.get("name"):
            self._select, self._first_option, self._selected = a["name"], None, None
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._selected = value

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.fields.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = self._selected if self._selected is not None else self._first_option
            self.fields.append((self._select, chosen or ""))
            self._select = None


@dataclass(frozen=True)
class SimulatorForm:
    """The simulator form of a GET page with one line moved up by one step, as sent."""

    fields: list[tuple[str, str]]
    moved: str  # the field name of the moved line
    before: str
    after: str

    @cached_property
    def body(self) -> bytes:
        return urlencode(self.fields).encode()

    @property
    def line_count(self) -> int:
        return sum(1 for name, _ in self.fields if name.startswith("line."))


def simulator_form(html: str, *, like_browser: bool = True) -> SimulatorForm:
    """Read the page's form and move the first adjustable line by one step (up, or down at max).

    `like_browser`: what static/simulator.js lets htmx send (its `htmx:configRequest` listener):
    amounts equal to their `data-city` (and not marked invalid) and blank comment boxes are left
    out. Otherwise every field, as a browser without that listener would send it."""
    reader = _FormReader("simulator")
    reader.feed(html)
    reader.close()
    fields = list(reader.fields)
    for index, (name, value) in enumerate(fields):
        field = reader.attrs_by_name.get(name, {})
        # the range and the step are on the slider; the field shows grouped digits, "17,000,000"
        attrs = reader.sliders.get(field.get("id", ""), field)
        if not name.startswith("line.") or not attrs.get("step"):
            continue
        step, current = Decimal(attrs["step"]), Decimal(value.replace(",", ""))
        top = Decimal(attrs["max"]) if attrs.get("max") else None
        moved = current + step if top is None or current + step <= top else current - step
        fields[index] = (name, _units(moved))
        if like_browser:
            fields = [f for f in fields if not _left_out_by_script(f, reader)]
        return SimulatorForm(fields, name, value, _units(moved))
    raise RuntimeError("no adjustable line found in the simulator form")


def _left_out_by_script(item: tuple[str, str], reader: _FormReader) -> bool:
    """Mirrors static/simulator.js: unchanged amounts and blank comments are not sent."""
    name, value = item
    if name in reader.textareas:
        return not value.strip()
    attrs = reader.attrs_by_name.get(name, {})
    return (
        "amount" in attrs.get("class", "").split()
        and "data-city" in attrs
        and value == attrs["data-city"]
        and attrs.get("aria-invalid") != "true"
    )


def _units(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat. Busy is time spent running
    processes (user, nice, system); interrupt time is left out of both, as it cannot be charged
    to a process and our own loopback traffic causes most of it."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    values += [0] * (8 - len(values))
    user, nice, system, idle, iowait, _irq, _softirq, steal = values
    busy = user + nice + system
    return busy, busy + idle + iowait + steal


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of the machine's CPU time that was busy over the next `seconds` (0..1)."""
    if not Path("/proc/stat").exists():
        return 0.0
    busy0, total0 = _cpu_times()
    time.sleep(seconds)
    busy1, total1 = _cpu_times()
    return (busy1 - busy0) / max(1, total1 - total0)


def process_ticks(pid: int) -> int:
    """CPU time (user + system, in clock ticks) used so far by process `pid` and its threads."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def process_cpu_ns(pid: int) -> int:
    """CPU time used so far by every thread of process `pid`, in nanoseconds (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


class OthersMeter:
    """How much CPU processes other than ours used between start() and stop(): a shared machine
    (other people's test runs) makes a trial unreliable. Ours: the server `pid` and this
    process's waited-for children (the load generator)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.hz = os.sysconf("SC_CLK_TCK")
        self._start = (0, 0, 0, 0.0)

    @staticmethod
    def _children_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def start(self) -> None:
        busy, total = _cpu_times()
        self._start = (busy, total, process_ticks(self.pid), self._children_seconds())

    def stop(self) -> float:
        """Share of the whole machine's CPU time (0..1) used by other processes."""
        busy0, total0, server0, children0 = self._start
        busy, total = _cpu_times()
        ours = process_ticks(self.pid) - server0
        ours += (self._children_seconds() - children0) * self.hz
        return max(0.0, (busy - busy0 - ours) / max(1, total - total0))


def wait_until_quiet(limit: float = 0.15, max_wait: float = 120.0) -> float:
    """Wait (at most `max_wait` s) until other processes use under `limit` of the CPUs, so a
    shared machine does not skew the run; returns the last busy share measured."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy()
    while busy > limit and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    return busy


def git_state() -> str:
    """The commit measured, and whether the working tree had uncommitted changes."""
    git = shutil.which("git")
    if git is None:
        return "unknown (no git)"
    head = subprocess.run(
        [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    changed = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return f"{head}" + (f" + {len(changed)} uncommitted changed files" if changed else " (clean)")


def tool_version(command: Sequence[str]) -> str:
    """First line of `command`'s output, or 'not found'."""
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return "not found"
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"
