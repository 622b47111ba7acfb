"""The ballot key when BUDGET_SIM_SECRET_KEY is not set: generated once into the instance folder,
the same for every process that starts at the same moment, never empty, readable by its owner
only; an unusable key stops the start with a clear message."""

from __future__ import annotations

import multiprocessing
import stat

import pytest
from starlette.testclient import TestClient

from budget_sim.settings import Settings
from budget_sim.web import create_app
from budget_sim.web.signing import SigningKeyError, signing_key

PROCESSES, ROUNDS = 4, 15


def _start(settings: Settings, barrier, keys) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    try:
        keys.put(signing_key(settings))
    except Exception as error:  # the parent reports it
        keys.put(f"error: {error!r}")


def test_processes_starting_together_on_a_fresh_folder_get_one_key(tmp_path):
    context = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        folder = tmp_path / f"instance-{round_}"
        settings = Settings(database_url="sqlite://", instance_dir=folder)
        barrier, keys = context.Barrier(PROCESSES), context.Queue()
        started = [
            context.Process(target=_start, args=(settings, barrier, keys)) for _ in range(PROCESSES)
        ]
        for process in started:
            process.start()
        got = [keys.get(timeout=30) for _ in started]
        for process in started:
            process.join(30)
        assert len(set(got)) == 1, got
        assert len(got[0]) >= 32 and not got[0].startswith("error"), got[0]
        key_file = folder / "secret_key"
        assert key_file.read_text().strip() == got[0]
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no temporary file left
        assert signing_key(settings) == got[0]  # and it stays the key


@pytest.mark.parametrize("content", ["", "\n", "short-key\n"])
def test_an_empty_or_short_key_file_stops_the_start(tmp_path, content):
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "secret_key").write_text(content)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", instance_dir=folder, warm_insights=False
    )
    with pytest.raises(SigningKeyError, match=r"secret_key holds .*at least 32.*Delete the file"):
        signing_key(settings)
    with pytest.raises(SigningKeyError), TestClient(create_app(settings)):
        pass
    assert (folder / "secret_key").read_text() == content  # left for the operator to look at


def test_a_short_secret_key_setting_is_refused(tmp_path):
    settings = Settings(database_url="sqlite://", instance_dir=tmp_path, secret_key="x" * 31)
    with pytest.raises(SigningKeyError, match="BUDGET_SIM_SECRET_KEY has 31 characters"):
        signing_key(settings)
    good = Settings(database_url="sqlite://", instance_dir=tmp_path, secret_key="y" * 32)
    assert signing_key(good) == "y" * 32
    assert list(tmp_path.iterdir()) == []  # no key file made when the setting gives one
