"""The `budget-sim` command: serve, check, import, db upgrade, demo, insights, embed."""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from pathlib import Path

from budget_sim.errors import DataError
from budget_sim.settings import get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from budget_sim.web import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port, proxy_headers=False)
    return 0


def _check(args: argparse.Namespace) -> int:
    from budget_sim.data import check_package

    problems = check_package(Path(args.path))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {args.path}", file=sys.stderr)
        return 1
    print(f"{args.path}: no problems found")
    return 0


def _import(args: argparse.Namespace) -> int:
    from budget_sim.data import import_source

    dest = Path(args.dest) if args.dest else get_settings().data_dir
    try:
        folder = import_source(Path(args.source), dest, slug=args.slug)
    except DataError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    print(f"Wrote {folder}. Review budget.toml (rules, households, questions), then run:")
    print(f"  budget-sim check {folder}")
    return 0


def _db(args: argparse.Namespace) -> int:
    from budget_sim.storage import upgrade

    upgrade(get_settings().database_url)
    print("Database is up to date.")
    return 0


def _budget(slug: str):  # type: ignore[no-untyped-def]
    """The budget residents get for `slug`: budget_data/, or a revision an admin published."""
    from budget_sim.storage import Database
    from budget_sim.web.registry import load_budgets

    settings = get_settings()
    database = Database(settings.database_url)
    try:
        budgets = load_budgets(settings, database)
    finally:
        database.dispose()
    if slug not in budgets:
        raise SystemExit(f"No budget {slug!r}. Known: {', '.join(sorted(budgets))}")
    return budgets[slug]


def _demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from budget_sim.demo import PlanMaker, district_answers
    from budget_sim.storage import Database, NewSubmission, save_many

    budget = _budget(args.slug)
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    maker, rng = PlanMaker(budget, seed=seed), random.Random(seed)
    database = Database(get_settings().database_url)
    started, batch = time.perf_counter(), []
    with tqdm(total=args.residents, unit=" residents", desc="synthetic submissions") as bar:
        for plan in maker.plans(args.residents):
            batch.append(
                NewSubmission(
                    budget_slug=budget.slug,
                    budget_digest=budget.version,
                    line_ids=budget.line_ids,
                    nonce=f"demo-{secrets.token_hex(16)}",
                    amounts=plan,
                    answers=district_answers(budget, rng),
                    synthetic=True,
                )
            )
            if len(batch) == args.batch:
                with database.writing() as session:
                    bar.update(save_many(session, batch))
                batch = []
        if batch:
            with database.writing() as session:
                bar.update(save_many(session, batch))
    database.dispose()
    elapsed = time.perf_counter() - started
    print(f"Added {args.residents:,} synthetic submissions to {budget.slug} in {elapsed:.1f} s.")
    print(f"See them with: budget-sim insights {budget.slug} --include-synthetic")
    return 0


def _insights(args: argparse.Namespace) -> int:
    from budget_sim.insights.dashboard import line_table
    from budget_sim.money import format_money
    from budget_sim.storage import Database
    from budget_sim.storage.exports import submissions_table

    budget = _budget(args.slug)
    database = Database(get_settings().database_url)
    started = time.perf_counter()
    table = submissions_table(
        database.read_engine,
        budget.slug,
        budget.line_ids,
        include_synthetic=args.include_synthetic,
    )
    stats = line_table(table, budget.lines)
    elapsed = time.perf_counter() - started
    database.dispose()
    count = table.height
    which = "including synthetic" if args.include_synthetic else "synthetic excluded"
    print(f"{budget.title}: {count:,} submissions ({which}); computed in {elapsed:.2f} s")
    header = (
        f"{'line':<58} {'city':>15} {'n':>7} {'mean':>15} {'median':>15} {'raise':>6} {'cut':>6}"
    )
    print(header)
    print("-" * len(header))

    def share(value: float | None) -> str:
        return "" if value is None else f"{value:.0%}"

    def money(value: float | None) -> str:
        return "" if value is None else format_money(round(value))

    for row in stats.iter_rows(named=True):
        name = f"{row['department']}: {row['program']}"
        name = name if len(name) <= 58 else name[:57] + "…"
        print(
            f"{name:<58} {format_money(row['city']):>15} {row['submissions']:>7,} "
            f"{money(row.get('mean')):>15} {money(row.get('median')):>15} "
            f"{share(row.get('raised')):>6} {share(row.get('cut')):>6}"
        )
    if count == 0 and not args.include_synthetic:
        print("No real submissions yet. Add --include-synthetic to see demo data.")
    return 0


def _embed(args: argparse.Namespace) -> int:
    from budget_sim.settings import check_base_url
    from budget_sim.web.urls import embed_snippet

    budget = _budget(args.slug)
    given = args.base_url or get_settings().base_url
    if not given:
        raise SystemExit(
            "Give --base-url (e.g. https://budget.example.org) or set BUDGET_SIM_BASE_URL"
        )
    try:
        root = check_base_url(given)
    except ValueError as error:
        raise SystemExit(f"--base-url {error}") from None
    if args.lang is not None and args.lang not in budget.locales:
        raise SystemExit(
            f"--lang {args.lang!r}: {budget.slug} is offered in {', '.join(budget.locales)}"
        )
    print(embed_snippet(root, budget.slug, args.lang))
    if budget.embed_origins:
        print(
            f"Pages on these origins may show it (embed_origins in {budget.slug}'s budget.toml): "
            + ", ".join(budget.embed_origins),
            file=sys.stderr,
        )
    else:
        print(
            f"Warning: {budget.slug} allows no embed origins, so browsers will refuse the frame on "
            "every page. Add the city's origin to its budget.toml, e.g. "
            'embed_origins = ["https://www.example.gov"].',
            file=sys.stderr,
        )
    if root.startswith("http://"):
        print(
            "Warning: the base URL uses http://, so pages served over https cannot show it.",
            file=sys.stderr,
        )
    return 0


def _create_staff(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from getpass import getpass

    from budget_sim import accounts
    from budget_sim.errors import Conflict
    from budget_sim.storage import Database
    from budget_sim.storage import staff as staff_db

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass(f"Password for {args.email}: ")
        if getpass("The same password again: ") != password:
            print("The two passwords differ; nothing was created.", file=sys.stderr)
            return 1
    problem = accounts.password_problem(password, args.email)
    if problem:
        print(f"The password {problem}; nothing was created.", file=sys.stderr)
        return 1
    budgets = None if not args.budget else args.budget
    database = Database(get_settings().database_url)
    try:
        with database.writing() as session:
            moment = datetime.now(UTC)
            user_id = staff_db.create_staff(
                session,
                email=args.email,
                name=args.name or args.email,
                role=args.role,
                budgets=budgets,
                password_hash=accounts.hash_password(password),
                now=moment,
            )
            staff_db.audit(
                session,
                "created staff (command line)",
                now=moment,
                user_id=user_id,
                detail=f"{args.email.lower()} as {args.role}",
            )
    except Conflict as error:
        print(f"{error}; nothing was created.", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(f"Created {args.role} {args.email.lower()}. Sign in at /staff/login.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="budget-sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the resident site")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", help="validate a budget package folder")
    check.add_argument("path")
    check.set_defaults(run=_check)

    imp = commands.add_parser("import", help="turn a budget_sources CSV into a package skeleton")
    imp.add_argument("source")
    imp.add_argument("--dest", help="folder to create the package in (default: the data folder)")
    imp.add_argument("--slug", help="package slug (default: from city and fiscal year)")
    imp.set_defaults(run=_import)

    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(run=_db)

    demo = commands.add_parser("demo", help="add synthetic submissions (flagged as such)")
    demo.add_argument("slug")
    demo.add_argument("--residents", type=int, default=1000)
    demo.add_argument("--seed", type=int)
    demo.add_argument("--batch", type=int, default=1000, help=argparse.SUPPRESS)
    demo.set_defaults(run=_demo)

    insights = commands.add_parser("insights", help="per-line results from the database")
    insights.add_argument("slug")
    insights.add_argument(
        "--include-synthetic", action="store_true", help="count demo submissions too"
    )
    insights.set_defaults(run=_insights)

    embed = commands.add_parser("embed", help="print the snippet a city pastes to embed a budget")
    embed.add_argument("slug")
    embed.add_argument(
        "--base-url",
        help="where this site is served, e.g. https://budget.example.org "
        "(default: BUDGET_SIM_BASE_URL)",
    )
    embed.add_argument("--lang", help="language of the embedded simulator (default: English)")
    embed.set_defaults(run=_embed)

    staff = commands.add_parser("create-staff", help="create a staff account (asks a password)")
    staff.add_argument("email")
    staff.add_argument("--name", help="the person's name (default: the email)")
    staff.add_argument("--role", choices=["admin", "analyst"], default="admin")
    staff.add_argument(
        "--budget", action="append", help="a budget an analyst may see (repeat; default: all)"
    )
    staff.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    staff.set_defaults(run=_create_staff)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except DataError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
