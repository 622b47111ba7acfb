"""What recording the participation funnel costs residents (issue 10 point 6).

In one process (no server, no sockets: the ASGI app called directly after its lifespan started,
as benchmarks/recalc.py does), alternating blocks with the funnel's recording on and off (off:
`budget_sim.web.resident.funnel.record` replaced by a function that does nothing), medians of:

1. `funnel.record(...)` alone: what a request pays (reading the ballot's nonce, its HMAC, the
   event queued);
2. the recalculation fragment of the 285-line Oakland budget (POST with HX-Request and the
   X-Budget-Line header the page's script sends), one line moved;
3. a submission of the 114-line Cambridge budget (the city's amounts, a fresh ballot each),
   acknowledged after its commit; its event is written by the background writer meanwhile;
4. the background writer's batch: wall time to store 100 and 2,000 queued events in one
   transaction (on SQLite the event loop and the write lock are held that long, once a second).

    .venv/bin/python benchmarks/funnel.py [--repeat 300] [--blocks 6] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_state, simulator_form, temporary_instance  # noqa: E402
from recalc import AsgiClient  # noqa: E402

OAKLAND, CAMBRIDGE = "oakland-fy2023", "cambridge-fy2026"
FORM = ("content-type", "application/x-www-form-urlencoded")


def _ms(samples: list[int]) -> float:
    return statistics.median(samples) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="requests per block")
    parser.add_argument("--blocks", type=int, default=6, help="blocks, alternating on and off")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with temporary_instance(args.database_url) as instance:
        for key in ("BUDGET_SIM_DATABASE_URL", "BUDGET_SIM_SECRET_KEY", "BUDGET_SIM_INSTANCE_DIR"):
            os.environ[key] = instance.env[key]
        os.environ["BUDGET_SIM_WARM_INSIGHTS"] = "false"
        run(args)


def run(args: argparse.Namespace) -> None:
    from budget_sim.storage.funnel import Event
    from budget_sim.web import create_app
    from budget_sim.web.resident import funnel

    real_record = funnel.record

    def nothing(*_args: object, **_kwargs: object) -> None:
        return None

    app = create_app()
    context = app.router.lifespan_context(app)
    client = AsgiClient(app, {})
    client.state.update(client.loop.run_until_complete(context.__aenter__()) or {})
    state = client.state
    try:
        oakland = state["budgets"][OAKLAND]
        status, html = client.request("GET", f"/b/{OAKLAND}")
        assert status == 200
        form = simulator_form(html.decode())
        line_id = form.moved.removeprefix("line.")
        recalc_headers = [FORM, ("hx-request", "true"), ("x-budget-line", line_id)]
        status, _ = client.request("POST", f"/b/{OAKLAND}", recalc_headers, form.body)
        assert status == 200, status
        ballots = state["ballots"]
        fake = SimpleNamespace(state=SimpleNamespace(ballots=ballots, funnel=state["funnel"]))
        token = ballots.issue(OAKLAND)

        def submit_body() -> bytes:
            return urlencode({"ballot": ballots.issue(CAMBRIDGE)}).encode()

        submit_headers = [FORM, ("origin", "http://127.0.0.1:8000")]
        status, _ = client.request("POST", f"/b/{CAMBRIDGE}/submit", submit_headers, submit_body())
        assert status == 303, status

        samples: dict[tuple[str, bool], list[int]] = {}
        for block in range(args.blocks):
            on = block % 2 == 0
            funnel.record = real_record if on else nothing
            for name, call in (
                ("record() alone", lambda: funnel.record(fake, oakland, "change", token)),
                (
                    "recalculation fragment (Oakland, 285 lines)",
                    lambda: client.request("POST", f"/b/{OAKLAND}", recalc_headers, form.body),
                ),
            ):
                times = samples.setdefault((name, on), [])
                for _ in range(args.repeat):
                    start = time.perf_counter_ns()
                    call()
                    times.append(time.perf_counter_ns() - start)
            times = samples.setdefault(("submission (Cambridge, 114 lines)", on), [])
            bodies = [submit_body() for _ in range(args.repeat // 3)]
            for body in bodies:
                start = time.perf_counter_ns()
                status, _ = client.request("POST", f"/b/{CAMBRIDGE}/submit", submit_headers, body)
                times.append(time.perf_counter_ns() - start)
                assert status == 303, status
        funnel.record = real_record

        writer = state["funnel"]
        batches: dict[int, list[int]] = {}
        for size in (100, 2000):
            for _ in range(5):
                for i in range(size):
                    writer.record(
                        Event(CAMBRIDGE, f"{i:064x}", "change", datetime.now(UTC), True, line_id)
                    )
                start = time.perf_counter_ns()
                client.loop.run_until_complete(writer.flush())
                batches.setdefault(size, []).append(time.perf_counter_ns() - start)
    finally:
        funnel.record = real_record
        client.loop.run_until_complete(context.__aexit__(None, None, None))

    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"\n## Funnel recording cost ({backend}; {git_state()}; Python "
        f"{platform.python_version()}; {os.cpu_count()} CPUs; median of "
        f"{args.blocks // 2} blocks x {args.repeat} each, submissions {args.repeat // 3})\n"
    )
    print("| what | events off, ms | events on, ms | difference, ms | ratio |")
    print("|---|---|---|---|---|")
    names = dict.fromkeys(name for name, _ in samples)
    for name in names:
        off, on = _ms(samples[name, False]), _ms(samples[name, True])
        ratio = on / off if off else float("nan")
        print(f"| {name} | {off:.4f} | {on:.4f} | {on - off:+.4f} | {ratio:.3f} |")
    print("\n| background batch | median wall ms | per event, us |")
    print("|---|---|---|")
    for size, times in batches.items():
        print(f"| {size:,} events | {_ms(times):.2f} | {_ms(times) * 1000 / size:.1f} |")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
