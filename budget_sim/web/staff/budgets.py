"""Budget administration (admins only): the list of budgets, uploading a budget file and its
settings (a new budget, or a revision of one: texts per language, embed allow-list, dates,
rules, lines), the preview that lists every problem before anything is stored, and publishing.

A revision never touches stored submissions: each keeps the version it was made against."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from budget_sim.data import manifest_fields, package_digest, read_package_files
from budget_sim.data.manifest import SLUG
from budget_sim.errors import Conflict, NotFound
from budget_sim.model import Budget
from budget_sim.storage import count_submissions
from budget_sim.storage import packages as packages_db
from budget_sim.storage import results as results_db
from budget_sim.storage import staff as staff_db
from budget_sim.web import registry
from budget_sim.web.clients import client_address
from budget_sim.web.paths import ROW
from budget_sim.web.sessions import SignedIn, now
from budget_sim.web.staff import budget_mapping, budget_upload
from budget_sim.web.staff.auth import render, staff_view
from budget_sim.web.staff.budget_review import review
from budget_sim.web.urls import embed_snippet, path_for, site_root
from budget_sim.web.windows import staff_window

UPLOAD_PATH = "/staff/budgets/upload"
NEW_BUDGET_DEFAULTS = {
    "balance": "balanced",
    "tolerance": "",  # empty: the importer's workable default (budget_mapping)
    "min_change_percent": "-10",
    "max_change_percent": "10",
    "step_percent": "1",
    "timezone": "UTC",
}


def _slug(request: Request) -> str:
    slug = request.path_params["slug"]
    if not SLUG.fullmatch(slug):
        raise HTTPException(404, "There is no budget at this address.")
    return slug


@dataclass(frozen=True)
class BudgetRow:
    slug: str
    budget: Budget | None  # what residents get now; None: nothing published yet
    source: str
    window: str
    submissions: int
    revisions: tuple[packages_db.Revision, ...]  # newest first
    results_public: bool = False  # residents can see its results page and open data

    @property
    def newer_drafts(self) -> tuple[packages_db.Revision, ...]:
        published = [r.revision for r in self.revisions if r.status == packages_db.PUBLISHED]
        newest = max(published, default=0)
        return tuple(
            r for r in self.revisions if r.status == packages_db.DRAFT and r.revision > newest
        )


def _rows(request: Request) -> list[BudgetRow]:
    budgets = dict(request.state.budgets.items())  # as of now; a draft-only slug is no miss
    moment = now()
    with request.state.database.reading() as session:
        revisions = packages_db.list_revisions(session)
        slugs = sorted(set(budgets) | {r.slug for r in revisions})
        counts = {slug: count_submissions(session, slug) for slug in slugs}
        public = results_db.public_slugs(session)
    rows = []
    for slug in slugs:
        budget = budgets.get(slug)
        own = tuple(r for r in revisions if r.slug == slug)
        serving = next((r for r in own if budget and r.version == budget.version), None)
        if budget is None:
            source = "not published"
        elif serving is not None:
            source = f"uploaded, revision {serving.revision}"
        else:
            source = "budget_data/ folder"
        rows.append(
            BudgetRow(
                slug=slug,
                budget=budget,
                source=source,
                window=staff_window(budget, moment) if budget else "",
                submissions=counts[slug],
                revisions=own,
                results_public=slug in public,
            )
        )
    return rows


def _results_change(request: Request) -> tuple[str, str] | None:
    """("published" or "withdrawn", slug) after the results toggle; None otherwise."""
    change, _, slug = request.query_params.get("results", "").partition("-")
    if change in ("published", "withdrawn") and slug in request.state.budgets:
        return change, slug
    return None


def _list_context(request: Request, signed_in: SignedIn) -> dict:
    return {
        "me": signed_in,
        "rows": _rows(request),
        # only a budget that exists: anything else in the address is ignored
        "published": published
        if (published := request.query_params.get("published")) in request.state.budgets
        else None,
        "results": _results_change(request),
        "fields": NEW_BUDGET_DEFAULTS,
        "base_slug": "",
        "upload_mb": budget_upload.LINES_MAX_BYTES // (1024 * 1024),
    }


@staff_view(role="admin")
async def budgets(request: Request, signed_in: SignedIn) -> Response:
    context = await run_in_threadpool(_list_context, request, signed_in)
    return render(request, "budgets.html", context)


@staff_view(role="admin")
async def revise(request: Request, signed_in: SignedIn) -> Response:
    """The upload form filled in with the settings residents get now for this budget."""
    slug = _slug(request)
    state = request.state
    base = await run_in_threadpool(registry.current_files, state.settings, state.database, slug)
    if base is None:
        raise HTTPException(404, "There is no published budget with this slug to revise.")
    return render(
        request,
        "budget_revise.html",
        {
            "me": signed_in,
            "fields": manifest_fields(base[0]),
            "base_slug": slug,
            "base_lines": base[1],
            "budget": state.budgets.get(slug),
            "upload_mb": budget_upload.LINES_MAX_BYTES // (1024 * 1024),
        },
    )


def _store_draft(request: Request, signed_in: SignedIn, upload: budget_upload.Upload) -> int:
    budget = upload.budget
    assert budget is not None and upload.manifest is not None and upload.lines is not None
    moment = now()
    with request.state.database.writing() as session:
        revision, new = packages_db.add_revision(
            session,
            slug=budget.slug,
            manifest=upload.manifest,
            lines_name=upload.lines_name,
            lines=upload.lines,
            digest=package_digest(upload.manifest, upload.lines),
            opens_at=budget.opens_at,
            closes_at=budget.closes_at,
            created_by=signed_in.user.id,
            now=moment,
        )
        if new:
            staff_db.audit(
                session,
                "uploaded budget revision",
                now=moment,
                user_id=signed_in.user.id,
                detail=f"{budget.slug} revision {revision} version {budget.version} "
                f"({upload.lines_name}, {budget.lines.height} lines)",
                address=client_address(request),
            )
    return revision


@staff_view(role="admin", max_files=2)
async def upload(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Check the upload; any problem: list them all and store nothing (422). Else store a
    draft revision and show its preview."""
    state = request.state
    base_slug = form.get("base", "").strip()
    base = None
    if base_slug:
        if not SLUG.fullmatch(base_slug):
            raise HTTPException(404, "There is no budget with this slug to revise.")
        base = await run_in_threadpool(
            registry.current_files, state.settings, state.database, base_slug
        )
        if base is None:
            raise HTTPException(404, "There is no published budget with this slug to revise.")
    built = await budget_upload.build(
        await request.form(),
        form,
        base_slug=base_slug,
        base=base,
        taken=frozenset(state.budgets),
    )
    checked = await run_in_threadpool(budget_upload.check, built)
    if checked.problems:
        return render(
            request,
            "budget_preview.html",
            {
                "me": signed_in,
                "problems": checked.problems,
                "invalid": budget_upload.invalid_fields(checked.problems),
                "fields": form,
                "base_slug": base_slug,
                "base_lines": base[1] if base else "",
                "upload_mb": budget_upload.LINES_MAX_BYTES // (1024 * 1024),
            },
            422,
        )
    try:
        revision = await run_in_threadpool(_store_draft, request, signed_in, checked)
    except Conflict as error:
        raise HTTPException(
            409, "Another upload of this budget was stored at the same moment. Upload again."
        ) from error
    slug = checked.slug
    url = path_for(request, "staff_budget_revision", slug=slug, revision=revision)
    return RedirectResponse(url, status_code=303)


@dataclass(frozen=True)
class Stored:
    package: packages_db.StoredPackage
    budget: Budget | None
    problems: list
    published: int | None  # the newest published revision of the slug
    submissions: int


def _stored(request: Request, slug: str, number: int) -> Stored | None:
    database = request.state.database
    with database.reading() as session:
        package = packages_db.get_revision(session, slug, number)
        if package is None:
            return None
        current = packages_db.current_published(session, slug)
        submissions = count_submissions(session, slug)
    budget = registry.budget_at(database, slug, package.version)
    problems = []
    if budget is None:  # stored, but it no longer passes the checks
        _, problems = read_package_files(slug, package.manifest, package.lines_name, package.lines)
    return Stored(package, budget, problems, current.revision if current else None, submissions)


@staff_view(role="admin")
async def revision_page(request: Request, signed_in: SignedIn) -> Response:
    slug, number = _slug(request), request.path_params["revision"]
    stored = await run_in_threadpool(_stored, request, slug, number)
    if stored is None:
        raise HTTPException(404, "There is no such revision.")
    if stored.budget is None:
        return render(
            request, "budget_preview.html", {"me": signed_in, "problems": stored.problems}, 422
        )
    current = request.state.budgets.get(slug)
    return render(
        request,
        "budget_preview.html",
        {
            "me": signed_in,
            "problems": [],
            "stored": stored,
            "review": review(stored.budget, current),
            "live": current is not None and current.version == stored.budget.version,
            "embed_snippet": embed_snippet(site_root(request), slug),
            "imported": budget_mapping.notes_in(stored.package.manifest),
            "window": staff_window(stored.budget, now()),
            "can_publish": stored.package.status == packages_db.DRAFT
            and (stored.published or 0) < number,
        },
    )


def _publish(request: Request, signed_in: SignedIn, slug: str, number: int) -> None:
    database = request.state.database
    with database.reading() as session:
        package = packages_db.get_revision(session, slug, number)
    if package is None:
        raise NotFound(f"{slug} has no revision {number}")
    budget = registry.budget_at(database, slug, package.version)
    if budget is None:
        raise Conflict("it no longer passes the checks: upload it again")
    moment = now()
    with database.writing() as session:
        if packages_db.publish(session, slug, number, moment):
            staff_db.audit(
                session,
                "published budget",
                now=moment,
                user_id=signed_in.user.id,
                detail=f"{slug} revision {number} version {budget.version}",
                address=client_address(request),
            )
    request.state.budgets.refresh()  # this process at once; the others within a second


@staff_view(role="admin")
async def publish(request: Request, signed_in: SignedIn, form: dict[str, str]) -> Response:
    """Publish a draft: residents get it from now on, from every worker (see registry)."""
    slug, number = _slug(request), request.path_params["revision"]
    try:
        await run_in_threadpool(_publish, request, signed_in, slug, number)
    except NotFound as error:
        raise HTTPException(404, "There is no such revision.") from error
    except Conflict as error:
        raise HTTPException(409, f"This revision cannot be published: {error}.") from error
    return RedirectResponse(f"/staff/budgets?published={slug}", status_code=303)


@staff_view(role="admin")
async def set_results_public(
    request: Request, signed_in: SignedIn, form: dict[str, str]
) -> Response:
    """Publish a budget's results page and open data to everyone, or withdraw them."""
    slug = _slug(request)
    if slug not in request.state.budgets:
        raise HTTPException(404, "There is no published budget with this slug.")
    choice = form.get("publish", "")
    if choice not in ("0", "1"):
        raise HTTPException(400, "publish must be 1 (publish the results) or 0 (withdraw them).")
    publish = choice == "1"

    def change() -> None:
        moment = now()
        with request.state.database.writing() as session:
            if results_db.set_public(session, slug, publish, now=moment, user_id=signed_in.user.id):
                staff_db.audit(
                    session,
                    "published results" if publish else "withdrew results",
                    now=moment,
                    user_id=signed_in.user.id,
                    detail=slug,
                    address=client_address(request),
                )

    await run_in_threadpool(change)
    state = "published" if publish else "withdrawn"
    return RedirectResponse(f"/staff/budgets?results={state}-{slug}", status_code=303)


routes = [
    Route("/staff/budgets", budgets, name="staff_budgets", methods=["GET"]),
    Route(UPLOAD_PATH, upload, name="staff_budget_upload", methods=["POST"]),
    Route("/staff/budgets/{slug}/revise", revise, name="staff_budget_revise", methods=["GET"]),
    Route(
        f"/staff/budgets/{{slug}}/revisions/{{revision:{ROW}}}",
        revision_page,
        name="staff_budget_revision",
        methods=["GET"],
    ),
    Route(
        f"/staff/budgets/{{slug}}/revisions/{{revision:{ROW}}}/publish",
        publish,
        name="staff_budget_publish",
        methods=["POST"],
    ),
    Route(
        "/staff/budgets/{slug}/results",
        set_results_public,
        name="staff_budget_results",
        methods=["POST"],
    ),
]
