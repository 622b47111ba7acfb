"""The budget upload form: its files (capped), and the package they make with the settings
fields, checked exactly as `budget-sim check` checks a folder."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from budget_sim.data import compose_manifest, read_package_files
from budget_sim.data.manifest import SLUG, read_manifest
from budget_sim.data.reachable import reach_problems
from budget_sim.data.table import MAX_FILE_BYTES
from budget_sim.errors import Problem
from budget_sim.model import Budget
from budget_sim.web.staff import budget_mapping

LINES_MAX_BYTES = MAX_FILE_BYTES  # 5 MB, as for a package on disk
MANIFEST_MAX_BYTES = 256 * 1024
# The whole request: both files, the settings fields and multipart overhead. Only the upload
# route gets this cap (BodyLimitMiddleware per_path); every other route keeps the small one.
UPLOAD_MAX_BYTES = LINES_MAX_BYTES + MANIFEST_MAX_BYTES + 256 * 1024
FORM = "upload form"
LINE_TYPES = {".csv": "lines.csv", ".xlsx": "lines.xlsx"}


@dataclass
class Upload:
    """What the form sent, as package files, with every problem found."""

    slug: str  # the package's slug ("" when it could not be told)
    manifest: bytes | None = None
    lines_name: str = ""
    lines: bytes | None = None
    problems: list[Problem] = field(default_factory=list)
    budget: Budget | None = None  # when there is no problem
    mapped: bool = True  # False: the lines file was a city's export that could not be read
    fields: dict[str, str] = field(default_factory=dict)  # as sent, with what the import filled


def _file(form: FormData, name: str) -> UploadFile | None:
    """The uploaded file of a field, None when no file was chosen."""
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


async def _read_capped(upload: UploadFile, limit: int, what: str) -> tuple[bytes | None, str]:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        return None, (
            f"{what} {upload.filename!r} is larger than {limit // 1024:,} KB: "
            f"at most {limit // 1024:,} KB is accepted"
        )
    return data, ""


async def read_files(form: FormData, upload: Upload) -> tuple[bytes | None, str, bytes | None]:
    """(uploaded budget.toml, lines file name, uploaded lines file); problems go to `upload`."""
    manifest = None
    manifest_file = _file(form, "manifest_file")
    if manifest_file is not None:
        manifest, problem = await _read_capped(manifest_file, MANIFEST_MAX_BYTES, "budget.toml")
        if problem:
            upload.problems.append(Problem(FORM, problem, column="manifest_file"))
    lines_file = _file(form, "lines")
    if lines_file is None:
        return manifest, "", None
    suffix = "." + (lines_file.filename or "").rsplit(".", 1)[-1].lower()
    if suffix not in LINE_TYPES:
        upload.problems.append(
            Problem(
                FORM,
                f"{lines_file.filename!r} is not read: the lines file must be a .csv file "
                "(CSV UTF-8) or an .xlsx workbook",
                column="lines",
            )
        )
        return manifest, "", None
    lines, problem = await _read_capped(lines_file, LINES_MAX_BYTES, "The lines file")
    if problem:
        upload.problems.append(Problem(FORM, problem, column="lines"))
    return manifest, LINE_TYPES[suffix], lines


def _slug_in(manifest: bytes) -> str:
    try:
        slug = tomllib.loads(manifest.decode("utf-8")).get("slug")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    return slug if isinstance(slug, str) else ""


async def build(
    form: FormData,
    fields: dict[str, str],
    *,
    base_slug: str = "",
    base: tuple[bytes, str, bytes] | None = None,
    taken: frozenset[str] = frozenset(),
) -> Upload:
    """The package the upload form makes. A new budget (no `base_slug`) needs a lines file and
    a slug not `taken` by a budget residents already get; a revision starts from `base` (the
    current files), whose lines are kept when no lines file is sent. An uploaded budget.toml
    replaces the settings fields."""
    upload = Upload(slug=base_slug)
    uploaded, lines_name, lines = await read_files(form, upload)
    made = None
    if lines is not None and (
        budget_mapping.wanted(fields) or not budget_mapping.looks_like_package(lines_name, lines)
    ):
        original = _file(form, "lines")
        name = original.filename if original and original.filename else lines_name
        made, problems = await run_in_threadpool(budget_mapping.import_export, name, lines, fields)
        if made is None:
            upload.problems.extend(problems)
            upload.mapped = False
            lines = None
        else:
            lines_name, lines = "lines.csv", made.lines_csv.encode("utf-8")
            if uploaded is None:
                fields = budget_mapping.filled_in(fields, made, base[0] if base else None)
    elif lines is not None and uploaded is None and not fields.get("tolerance", "").strip():
        tolerance = await run_in_threadpool(
            budget_mapping.package_tolerance, fields, lines_name, lines
        )
        fields = {**fields, "tolerance": tolerance}
    if uploaded is not None:
        upload.slug = _slug_in(uploaded)
        upload.manifest = uploaded
        if base_slug and upload.slug != base_slug:
            upload.problems.append(
                Problem(
                    FORM,
                    f"the uploaded budget.toml has slug {upload.slug!r}: a revision of "
                    f"{base_slug!r} must keep slug = {base_slug!r}",
                    column="manifest_file",
                )
            )
    else:
        if not base_slug:
            upload.slug = fields.get("slug", "").strip()
        upload.manifest = compose_manifest(fields, base[0] if base else None)
        if made is not None:
            upload.manifest = budget_mapping.with_notes(upload.manifest, name, made)
    if lines is None and base is not None and not any(p.column == "lines" for p in upload.problems):
        lines_name, lines = base[1], base[2]
    if lines is None and upload.mapped and not any(p.column == "lines" for p in upload.problems):
        upload.problems.append(
            Problem(FORM, "choose the lines file (.csv or .xlsx) to upload", column="lines")
        )
    if not base_slug and upload.slug in taken:
        upload.problems.append(
            Problem(
                FORM,
                f"a budget with slug {upload.slug!r} already exists: to change it, use "
                "“New revision” in its row of the list",
                column="slug",
            )
        )
    upload.lines_name, upload.lines = lines_name, lines
    upload.fields = fields
    return upload


def check(upload: Upload) -> Upload:
    """Check the package (blocking: run it in a thread). Problems of the files come after the
    form's own, each with file, row and column, worded as `budget-sim check` words them."""
    folder = upload.slug if SLUG.fullmatch(upload.slug) else "upload"
    if upload.manifest is None:
        return upload
    if upload.lines is None:
        _, _, problems = read_manifest(upload.manifest, f"{folder}/budget.toml", folder)
        upload.problems.extend(problems)
        return upload
    budget, problems = read_package_files(folder, upload.manifest, upload.lines_name, upload.lines)
    upload.problems.extend(problems)
    if budget is not None and not upload.problems:
        upload.problems.extend(reach_problems(budget, folder))
    if not upload.problems:
        upload.budget = budget
    return upload


def invalid_fields(problems: list[Problem]) -> set[str]:
    """Names of the form fields a problem points at (budget.toml keys map onto the fields), so
    the form can mark them invalid for assistive technology."""
    names = set()
    for problem in problems:
        if problem.file != FORM and not problem.file.endswith("/budget.toml"):
            continue
        column = re.sub(r"\[\d+\]$", "", problem.column or "")
        column = {"title": "title_en", "intro": "intro_en", "source.text": "source"}.get(
            column, column
        )
        names.add(column.removeprefix("rules.").replace(".", "_"))
    return names
