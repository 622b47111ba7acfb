"""The participation funnel, from scripted resident journeys through the real app: the counts at
each step, per segment, the lines left on, what is stored (no address, no nonce), retention,
and the staff page. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import create_engine, inspect, text
from starlette.testclient import TestClient

from budget_sim.storage import Database
from budget_sim.storage.funnel import Event, save_events
from budget_sim.web import create_app
from budget_sim.web.staff.participation import funnel_figures
from tests.web.conftest import SLUG, adjustable_expense, ballot_of, units

ADDRESS = "203.0.113.77"  # the residents' network address: must appear in no table


def _lines(budget):
    """A line to nudge within the rules, and two lines to raise far beyond them."""
    small = adjustable_expense(budget, max_step=budget.rules.tolerance)
    others = budget.lines.filter(
        (pl.col("kind") == "expense")
        & ~pl.col("locked")
        & (pl.col("max") - pl.col("amount") > 2 * budget.rules.tolerance)
        & (pl.col("id") != small["id"])
    )
    return small, others.row(0, named=True), others.row(1, named=True)


def _far(line: dict) -> str:
    """The line at its maximum: far past the rule's tolerance."""
    return units(line["max"])


def journeys(client: TestClient, budget) -> dict[str, str]:
    """Six residents; each one's ballot token by name."""
    small, big, other = _lines(budget)
    nudged = units(small["amount"] + small["step"])
    htmx = {"HX-Request": "true"}
    ballots = {}

    def open_page(name: str) -> str:
        ballots[name] = ballot_of(client.get(f"/b/{SLUG}").text)
        return ballots[name]

    open_page("looker")  # opens the page and leaves

    ballot = open_page("overspender")  # breaks the rule with the script on, then leaves
    response = client.post(
        f"/b/{SLUG}",
        data={"ballot": ballot, f"line.{big['id']}": _far(big)},
        headers={**htmx, "X-Budget-Line": big["id"]},
    )
    assert response.status_code == 200

    ballot = open_page("finisher")  # nudges a line, answers a question, submits
    form = {"ballot": ballot, f"line.{small['id']}": nudged}
    form["answer.neighborhood"] = "east-cambridge"
    client.post(f"/b/{SLUG}", data=form, headers={**htmx, "X-Budget-Line": small["id"]})
    assert client.post(f"/b/{SLUG}/submit", data=form).status_code == 303

    ballot = open_page("refused")  # submits an overspent budget, is refused, fixes it
    refused = client.post(
        f"/b/{SLUG}/submit", data={"ballot": ballot, f"line.{big['id']}": _far(big)}
    )
    assert refused.status_code == 422
    form = {"ballot": ballot, f"line.{small['id']}": nudged}
    client.post(f"/b/{SLUG}", data=form, headers={**htmx, "X-Budget-Line": small["id"]})
    assert client.post(f"/b/{SLUG}/submit", data=form).status_code == 303

    ballot = open_page("unchanged")  # submits the city's budget as it is
    assert client.post(f"/b/{SLUG}/submit", data={"ballot": ballot}).status_code == 303

    ballot = open_page("no-script")  # recalculates the whole page without JavaScript, leaves
    response = client.post(
        f"/b/{SLUG}", data={"ballot": ballot, f"line.{other['id']}": _far(other)}
    )
    assert response.status_code == 200 and "<html" in response.text
    client.portal.call(client.app_state["funnel"].flush)
    return ballots


@pytest.fixture
def resident(settings):
    app = create_app(settings)
    with TestClient(app, follow_redirects=False, client=(ADDRESS, 50000)) as test_client:
        yield test_client


def test_the_funnel_counts_each_scripted_journey_once_at_each_step(resident, settings):
    budget = resident.app_state["budgets"][SLUG]
    journeys(resident, budget)
    figures = funnel_figures(resident.app_state["database"], budget)

    assert [(s.key, s.n) for s in figures.steps] == [
        ("opened", 6),
        ("changed", 5),  # all but the looker (the unchanged submission counts: it got further)
        ("within", 3),
        ("submitted", 3),
    ]
    assert figures.steps[3].share == 1.0 and figures.steps[1].share == pytest.approx(5 / 6)
    assert figures.refused == 1 and figures.refused_then_submitted == 1
    assert figures.submitted_unchanged == 1
    assert figures.median_n == 3 and figures.median_seconds is not None
    assert figures.median_interval is None  # three are too few for a 95% interval
    assert "too few to give an interval" in figures.median_sentence

    # Left after changing something: the overspender (on the line the script named) and the
    # resident without JavaScript (whose last line cannot be known).
    _, big, _ = _lines(budget)
    assert figures.left_after_change == 2
    assert [(line.line_id, line.n, line.share) for line in figures.last_lines] == [
        (big["id"], 1, 0.5)
    ]
    assert "1 of them the page cannot tell" in figures.last_lines_sentence

    neighborhood = next(q for q in figures.questions if q.question_id == "neighborhood")
    segments = {segment.label: segment for segment in neighborhood.segments}
    assert segments["East Cambridge"].counts == (1, 1, 1, 1)
    assert segments["No answer given"].counts == (5, 4, 2, 2)
    assert sum(s.counts[0] for s in neighborhood.segments) == 6

    (day,) = figures.per_day.to_dicts()
    assert (day["opened"], day["changed"], day["within"], day["submitted"], day["refused"]) == (
        6,
        5,
        3,
        3,
        1,
    )
    data = figures.as_dict()
    assert data["steps"][0]["n"] == 6 and len(data["sentences"]) == 7


def test_no_address_cookie_or_nonce_is_stored(resident, settings):
    budget = resident.app_state["budgets"][SLUG]
    journeys(resident, budget)
    assert "set-cookie" not in resident.get(f"/b/{SLUG}").headers

    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        everything = []
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()
            everything.extend(str(value) for row in rows for value in row)
        nonces = set(connection.execute(text("SELECT nonce FROM submissions")).scalars())
        events = connection.execute(text("SELECT ballot, kind FROM funnel_events")).all()
        columns = {c["name"] for c in inspect(connection).get_columns("funnel_events")}
    engine.dispose()
    assert not [value for value in everything if ADDRESS in value]
    assert len(nonces) == 3 and len(events) >= 14
    assert not nonces & {ballot for ballot, _ in events}  # keyed by an HMAC, not the nonce
    assert not any(nonce in value for nonce in nonces for value in {b for b, _ in events})
    assert columns == {"id", "budget_slug", "ballot", "kind", "at", "within", "line_id", "answers"}


def test_events_older_than_the_retention_are_deleted(settings):
    settings = settings.model_copy(update={"funnel_retention_days": 30})
    database = Database(settings.database_url)
    now = datetime.now(UTC)
    with database.writing() as session:
        save_events(
            session,
            [
                Event(SLUG, "a" * 64, "opened", now - timedelta(days=31)),
                Event(SLUG, "b" * 64, "opened", now - timedelta(days=29)),
            ],
        )
    with TestClient(create_app(settings)) as client:
        client.get(f"/b/{SLUG}")
        client.portal.call(client.app_state["funnel"].flush)
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT ballot FROM funnel_events")).scalars().all()
    engine.dispose()
    database.dispose()
    assert "a" * 64 not in kept and "b" * 64 in kept and len(kept) == 2


def test_events_queued_when_the_app_stops_are_stored(settings):
    with TestClient(create_app(settings)) as client:
        client.get(f"/b/{SLUG}")
        client.get(f"/b/{SLUG}/embed")
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM funnel_events")).scalar_one()
    engine.dispose()
    assert count == 2


def test_staff_see_the_funnel_with_its_numbers_and_sentences(client, admin, budget):
    journeys(client, budget)
    dashboard = admin.get(f"/staff/b/{SLUG}")
    assert f'href="/staff/b/{SLUG}/participation"' in dashboard.text
    page = admin.get(f"/staff/b/{SLUG}/participation")
    assert page.status_code == 200
    html = page.text
    assert "who took part, and who gave up" in html
    assert "6 pages were opened" in html
    assert "5 of the 6 who got to the step before went on" in html
    assert "1 residents were refused at least once" in html
    assert "Half of the 3 residents who submitted took less than" in html
    assert "East Cambridge" in html and "No answer given" in html
    assert "changed something and left without submitting" in html
    assert client.get(f"/staff/b/{SLUG}/participation").status_code == 303  # signed out


@pytest.mark.parametrize(
    ("query", "title", "days"),
    [
        ("", "Privacy: what this site records", "deleted 90 days after they were recorded"),
        ("?lang=es", "Privacidad: qué registra este sitio", "Se borran 90 días después"),
    ],
)
def test_the_privacy_page_says_what_is_kept_in_both_languages(client, query, title, days):
    page = client.get(f"/privacy{query}")
    assert page.status_code == 200
    assert title in page.text and days in page.text
    simulator = client.get(f"/b/{SLUG}{query}").text
    assert f'href="/privacy{query}"' in simulator  # linked from the resident page's footer


def test_a_run_of_recalculations_is_stored_as_one_event_the_funnel_reads_the_same(database_url):
    """Key presses of one ballot fold into one "change" row; what the funnel computes per
    ballot (changed, within, last line, answers, stage, first moment) is what it computes from
    every event, for random sequences of several ballots interleaved."""
    import asyncio
    import random
    from concurrent.futures import ThreadPoolExecutor

    from budget_sim.insights.funnel import per_ballot
    from budget_sim.storage.funnel import FunnelWriter, load_events

    rng = random.Random(11)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    sent: list[Event] = []
    for step in range(400):
        ballot = rng.choice("abcde") * 64
        kind = rng.choices(["change", "opened", "refused", "submitted"], [20, 1, 1, 1])[0]
        sent.append(
            Event(
                SLUG,
                ballot,
                kind,
                start + timedelta(seconds=step),
                within=rng.random() < 0.3,
                line_id=rng.choice([None, "police", "parks", "library"]),
                answers=rng.choice(["{}", '{"age": "18-34"}', '{"age": "65+"}']),
            )
        )
    database = Database(database_url)

    async def store() -> int:
        writer = FunnelWriter(database, retention_days=3650)
        for event in sent:
            writer.record(event)
        await writer.flush()
        return writer.written

    with ThreadPoolExecutor(1) as thread:  # a loop of its own: Playwright may run one here
        written = thread.submit(asyncio.run, store()).result()
    with database.reading() as session:
        stored = load_events(session, SLUG)
    database.dispose()
    every = pl.DataFrame(
        [(e.ballot, e.kind, e.at, e.within, e.line_id, e.answers) for e in sent],
        schema=stored.schema,
        orient="row",
    )
    assert written == stored.height < len(sent) // 3  # folded: far fewer rows than key presses
    assert stored.filter(pl.col("kind") != "change").height == every.filter(
        pl.col("kind") != "change"
    ).height
    columns = ["ballot", "first_at", "changed", "within", "refused", "submitted_at"]
    columns += ["answers", "last_line", "stage"]
    ours, theirs = per_ballot(stored).sort("ballot"), per_ballot(every).sort("ballot")
    assert ours.select(columns).equals(theirs.select(columns))
