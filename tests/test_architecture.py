"""Imports point one way (DESIGN section 2). A wrong arrow fails here, naming file and import."""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "budget_sim"
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

# layer -> (budget_sim layers it may import, third-party packages it may import)
ALLOWED: dict[str, tuple[set[str], set[str]]] = {
    "errors": (set(), set()),
    "money": (set(), set()),
    "resources": (set(), set()),
    "settings": ({"resources"}, {"pydantic", "pydantic_settings"}),
    "model": ({"model", "money", "errors"}, {"polars"}),
    "data": ({"data", "model", "money", "errors"}, {"polars", "fastexcel", "pydantic"}),
    "forms": ({"model", "money", "errors"}, {"pydantic"}),
    "storage": ({"storage", "money", "errors", "resources"}, {"sqlalchemy", "alembic", "polars"}),
    "insights": ({"insights", "model", "money"}, {"polars"}),
    "demo": ({"model", "money"}, {"polars"}),
    "accounts": (set(), {"argon2"}),
    "exports": ({"xlsx_sheet"}, {"polars", "xlsxwriter"}),
    "xlsx_sheet": (set(), {"polars"}),
    "charts": ({"money"}, {"altair", "vl_convert", "polars"}),
    "print_charts": ({"charts", "money"}, {"altair", "polars"}),
    "pdf": (set(), {"weasyprint"}),
    "web": (
        {
            "web",
            "model",
            "data",
            "forms",
            "storage",
            "insights",
            "money",
            "errors",
            "settings",
            "accounts",
            "charts",
            "print_charts",
            "pdf",
            "resources",
        },
        {
            "starlette",
            "jinja2",
            "jinja2_fragments",
            "markupsafe",  # Jinja's own escaping, for the translation callables
            "itsdangerous",
            "polars",
            "pydantic",
            "babel",
            "uvicorn",  # only its ProxyHeadersMiddleware (web/app.py)
        },
    ),
    "cli": ({"*"}, {"uvicorn", "click", "pydantic", "sqlalchemy"}),
    "__init__": ({"analysis"}, set()),  # lazily, on first use
    "analysis": ({"data", "model", "settings", "storage"}, {"polars"}),
    "locales": (set(), set()),
    "__main__": ({"cli"}, set()),
}


def layer_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path) -> None:
    layer = layer_of(path)
    assert layer in ALLOWED, f"{path}: new layer {layer!r}: add it to ALLOWED with its arrows"
    own, third_party = ALLOWED[layer]
    wrong = []
    for line, name in imports_of(path):
        top, _, rest = name.partition(".")
        if top == "budget_sim":
            target = rest.partition(".")[0]
            if target and "*" not in own and target not in own:
                wrong.append(f"line {line}: {name}")
        elif top not in STDLIB and top not in third_party:
            wrong.append(f"line {line}: {name}")
    assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports what its layer may not: {wrong}"


def test_nothing_imports_web_but_cli() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in MODULES
        if layer_of(path) not in {"web", "cli"}
        for line, name in imports_of(path)
        if name.startswith("budget_sim.web")
    ]
    assert offenders == []


def test_the_checker_catches_a_wrong_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "model_bad.py"
    bad.write_text("from budget_sim.storage import Database\nimport sqlalchemy\n")
    names = [name for _, name in imports_of(bad)]
    own, third_party = ALLOWED["model"]
    assert "storage" not in own and "sqlalchemy" not in third_party
    assert names == ["budget_sim.storage", "sqlalchemy"]


# Inside `web`, a package per audience. None imports another's; the shared modules at the top of
# `web/` import none of them, except app.py, which wires every audience's routes into the app.
WEB = PACKAGE / "web"
AUDIENCES = ("resident", "staff", "api")
WIRING = {"app.py"}


def audience_of(path: Path, web: Path = WEB) -> str | None:
    """The audience package a module of `web` belongs to, or None for a shared module."""
    parts = path.relative_to(web).parts
    return parts[0] if len(parts) > 1 and parts[0] in AUDIENCES else None


def web_imports(path: Path, web: Path = WEB) -> list[tuple[int, str]]:
    """Every module of `web` that `path` imports, as a dotted name under budget_sim.web, relative
    imports resolved and `from package import module` counted as importing the module."""
    package = ["budget_sim", "web", *path.relative_to(web).parts[:-1]]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return [(line, name) for line, name in found if name.startswith("budget_sim.web.")]


def audience_arrows(path: Path, web: Path = WEB) -> list[str]:
    """The imports of `path` that reach into an audience package it may not use."""
    own = audience_of(path, web)
    wrong = []
    for line, name in web_imports(path, web):
        target = name.split(".")[2]
        if target in AUDIENCES and target != own:
            wrong.append(f"line {line}: {name}")
    return wrong


def test_audiences_do_not_import_each_other() -> None:
    modules = [p for p in sorted(WEB.rglob("*.py")) if p.relative_to(WEB).as_posix() not in WIRING]
    by_audience = Counter(audience_of(p) for p in modules)
    # the check sees the real modules: every audience's and the shared ones
    assert all(by_audience[a] >= 4 for a in AUDIENCES) and by_audience[None] >= 15, by_audience
    assert len(modules) > 40
    wrong = {str(p.relative_to(WEB)): found for p in modules if (found := audience_arrows(p))}
    assert wrong == {}, f"imports across web's audiences (move what they share up to web/): {wrong}"


def test_app_wires_every_audience() -> None:
    wired = {name.split(".")[2] for _, name in web_imports(WEB / "app.py")}
    assert set(AUDIENCES) <= wired


def test_the_audience_checker_catches_a_wrong_arrow(tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "resident").mkdir(parents=True)
    (web / "api").mkdir()
    resident = web / "resident" / "pages.py"
    resident.write_text(
        "from budget_sim.web.staff.auth import render\n"
        "from budget_sim.web import api\n"
        "from budget_sim.web.resident import funnel\n"
        "from . import ballots\n"
    )
    api = web / "api" / "views.py"
    api.write_text("def f():\n    from ..resident import drafts\n")
    shared = web / "urls.py"
    shared.write_text("import budget_sim.web.staff.sign_in\nfrom budget_sim.web import i18n\n")
    assert audience_arrows(resident, web) == [
        "line 1: budget_sim.web.staff.auth",
        "line 1: budget_sim.web.staff.auth.render",
        "line 2: budget_sim.web.api",
    ]
    assert audience_arrows(api, web) == [
        "line 2: budget_sim.web.resident",
        "line 2: budget_sim.web.resident.drafts",
    ]
    assert audience_arrows(shared, web) == ["line 1: budget_sim.web.staff.sign_in"]
