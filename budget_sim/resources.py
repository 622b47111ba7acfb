"""Where the folders shipped beside the code are: templates/, static/, budget_data/, migrations/.

In a checkout (an editable install) they sit at the repository's top level, next to
`budget_sim/`; the wheel carries them inside the package, in `budget_sim/_resources/`
(pyproject.toml maps them there). Every caller finds them here, whichever it is."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "_resources"  # an installed wheel
CHECKOUT = PACKAGE.parent  # a checkout: the repository's top level

NAMES = ("templates", "static", "budget_data", "migrations")


def resource(name: str) -> Path:
    """The folder `name` (one of NAMES): the wheel's copy when installed, else the checkout's."""
    if name not in NAMES:
        raise ValueError(f"unknown resource folder {name!r}; known: {', '.join(NAMES)}")
    root = BUNDLED if BUNDLED.is_dir() else CHECKOUT
    return root / name


def templates() -> Path:
    return resource("templates")


def static() -> Path:
    return resource("static")


def budget_data() -> Path:
    return resource("budget_data")


def migrations() -> Path:
    return resource("migrations")
