"""A real app (real budget packages, real database) behind Starlette's test client."""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl
import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from budget_sim.model import Budget
from budget_sim.web import create_app

SLUG = "cambridge-fy2026"


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def budget(client) -> Budget:
    return client.app_state["budgets"][SLUG]


def https(client: TestClient) -> TestClient:
    """Another browser on the same app, over HTTPS (the staff cookie is `__Host-`, Secure)."""
    return TestClient(client.app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def admin(client, settings):
    """A browser signed in as an admin (ada@city.gov) of the client's app."""
    from tests.web.test_staff import make_staff, sign_in  # the staff tests own these helpers

    make_staff(settings.database_url, "ada@city.gov")
    with https(client) as browser:
        sign_in(browser, "ada@city.gov")
        yield browser


@dataclass
class Rows:
    url: str

    def submissions(self) -> int:
        return self._count("submissions")

    def drafts(self) -> int:
        return self._count("drafts")

    def _count(self, table: str) -> int:
        engine = create_engine(self.url)
        with engine.connect() as connection:
            count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        engine.dispose()
        return count


@pytest.fixture
def rows(settings) -> Rows:
    return Rows(settings.database_url)


def ballot_of(html: str) -> str:
    return re.search(r'name="ballot" value="([^"]+)"', html).group(1)


def adjustable_expense(budget: Budget, *, max_step: int | None = None) -> dict:
    """An unlocked expense line with room to move up, optionally with a small step."""
    lines = budget.lines.filter(
        (pl.col("kind") == "expense") & ~pl.col("locked") & (pl.col("max") > pl.col("amount"))
    )
    if max_step is not None:
        lines = lines.filter(pl.col("step") <= max_step)
    return lines.row(0, named=True)


def grouped(cents: int) -> str:
    """An amount as the page's amount fields show it in English: 1700000000 -> "17,000,000"."""
    whole, rest = divmod(cents, 100)
    return f"{whole:,}" + (f".{rest:02d}" if rest else "")


def units(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}"
