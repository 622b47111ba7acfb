"""Imports point one way (DESIGN section 2). A wrong arrow fails here, naming file and import."""

from __future__ import annotations

import ast
import sys
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
