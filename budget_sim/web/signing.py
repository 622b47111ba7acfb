"""The key that signs ballot tokens: from settings, else generated once into the instance folder.

Several processes may start at the same moment on a fresh instance folder (`serve --workers N`
creates it before starting them, but workers started another way may not): the key is written
whole into a temporary file first, then linked into place with `os.link`, which fails if a key
is already there. Whoever wins, every process then reads the one key. The file is readable by
its owner only (0600). An empty or short key file is refused with a clear error rather than
used: anyone could forge ballots signed with it."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from budget_sim.errors import BudgetSimError
from budget_sim.settings import Settings

KEY_FILE = "secret_key"
MIN_LENGTH = 32  # characters; a generated key has 43 (32 random bytes, URL-safe base64)
logger = logging.getLogger("budget_sim")


class SigningKeyError(BudgetSimError):
    """The key file is unusable; the message says which file and what to do."""


def signing_key(settings: Settings) -> str:
    """The ballot key: BUDGET_SIM_SECRET_KEY, else the instance folder's key file (created if
    there is none). Raises SigningKeyError for a key shorter than MIN_LENGTH, empty included."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if (length := len(key.strip())) < MIN_LENGTH:
            raise SigningKeyError(
                f"BUDGET_SIM_SECRET_KEY has {length} characters; a ballot key needs at least "
                f"{MIN_LENGTH} (python -c 'import secrets; print(secrets.token_urlsafe(32))')."
            )
        return key
    path = Path(settings.instance_dir) / KEY_FILE
    if not path.exists():
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    """Write a new key to a temporary file, then link it into place unless a key got there
    first (a concurrent start): never a partly written key file, never two different keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key is the key
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < MIN_LENGTH:
        raise SigningKeyError(
            f"{path} holds {'no key' if not key else f'a key of {len(key)} characters'}; "
            f"a ballot key needs at least {MIN_LENGTH}. Delete the file to have a new key "
            "generated (ballots already handed out then stop working), or set "
            "BUDGET_SIM_SECRET_KEY."
        )
    if path.stat().st_mode & 0o077:
        logger.warning("%s can be read by other users than its owner: chmod 600 it", path)
    return key
