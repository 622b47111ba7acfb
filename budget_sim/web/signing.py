"""The key that signs ballot tokens: from settings, else generated once into the instance folder."""

from __future__ import annotations

import secrets
from pathlib import Path

from budget_sim.settings import Settings


def signing_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(settings.instance_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()
