"""The lock files install as README says a city installs them: `pip install --require-hashes -r
requirements.lock` in a new venv. pip then wants every requirement pinned, and one that a locked
package asks for with extras ("fonttools[woff]", from WeasyPrint) counts as its own requirement:
unless the lock names the extras too, pip may pick a newer release for it and refuses to install
(it did the day fonttools 4.69.1 came out). uv writes no extras, so `make lock` adds them."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PINNED = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?==", re.MULTILINE)


def locked(name: str) -> dict[str, set[str]]:
    """Package -> the extras its pinned line names, for one lock file."""
    text = (ROOT / name).read_text("utf-8")
    return {
        canonicalize_name(package): {e.strip() for e in (extras or "").split(",") if e.strip()}
        for package, extras in PINNED.findall(text)
    }


@pytest.mark.parametrize("name", ["requirements.lock", "requirements-dev.lock"])
def test_every_extra_a_locked_package_asks_for_is_pinned_with_it(name):
    pins = locked(name)
    assert "weasyprint" in pins and "polars" in pins  # the file was read
    missing = []
    for package in pins:
        try:
            requires = metadata.distribution(package).requires or []
        except metadata.PackageNotFoundError:  # locked for another platform or Python
            continue
        for line in requires:
            wanted = Requirement(line)
            if not wanted.extras or (wanted.marker and not wanted.marker.evaluate({"extra": ""})):
                continue
            target = canonicalize_name(wanted.name)
            if target in pins and not wanted.extras <= pins[target]:
                missing.append(f"{package} needs {wanted.name}[{','.join(sorted(wanted.extras))}]")
    assert missing == [], f"{name}: add the extras in `make lock` (Makefile): {missing}"
