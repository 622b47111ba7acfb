"""The embed view over HTTP: chrome-less pages that carry embed=1 and the allow-listed parent
through every link, form and redirect; frame-ancestors from the allow-list on resident pages and
'none' everywhere else; never a cookie. Plus the `budget-sim embed` snippet command."""

from __future__ import annotations

import re
import shutil
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from budget_sim import cli, resources
from budget_sim.settings import Settings
from budget_sim.web import create_app
from tests.web.conftest import SLUG, ballot_of

ALLOWED = ("http://127.0.0.2:8765", "https://www.cambridgema.gov")
PARENT = ALLOWED[0]
STRANGER = "http://127.0.0.3:8765"


def copy_with_origins(source: Path, dest: Path, origins: tuple[str, ...]) -> Path:
    """A copy of a budget package whose budget.toml allows exactly `origins` to embed it."""
    shutil.copytree(source, dest)
    manifest = dest / "budget.toml"
    text = manifest.read_text(encoding="utf-8")
    listed = "embed_origins = [" + ", ".join(f'"{o}"' for o in origins) + "]"
    text, count = re.subn(r"(?m)^embed_origins = .*$", listed, text)
    if not count:
        text = text.replace("\n[title]", f"\n{listed}\n[title]", 1)
    manifest.write_text(text, encoding="utf-8")
    return dest


@pytest.fixture
def embed_settings(settings: Settings, tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    copy_with_origins(resources.budget_data() / SLUG, data / SLUG, ALLOWED)
    return settings.model_copy(update={"data_dir": data})


@pytest.fixture
def embed_client(embed_settings):
    with TestClient(create_app(embed_settings), follow_redirects=False) as test_client:
        yield test_client


def frame_ancestors(response) -> list[str]:
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    return directives["frame-ancestors"].split()


def hidden_fields(html: str) -> dict[str, str]:
    form = html[html.index('<form id="simulator"') :]
    form = form[: form.index("</form>")]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    return {name: unescape(value) for name, value in fields}


def no_cookie(response) -> None:
    assert "set-cookie" not in response.headers, response.request.url


def test_embed_view_has_no_site_chrome_and_knows_its_parent(embed_client):
    response = embed_client.get(f"/b/{SLUG}/embed", params={"parent": PARENT})
    assert response.status_code == 200
    html = response.text
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert re.search(r'<body class="[^"]*\bembedded\b', html)
    assert f'data-parent-origin="{PARENT}"' in html
    assert re.search(r'<script src="[^"]*/static/embed-frame\.js"></script>', html)
    assert hidden_fields(html) | {"ballot": ""} == {"ballot": "", "embed": "1", "parent": PARENT}
    assert frame_ancestors(response) == list(ALLOWED)
    assert "x-frame-options" not in response.headers
    no_cookie(response)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"parent": STRANGER},
        {"parent": "null"},
        {"parent": PARENT + "/"},
        {"parent": PARENT + '" onload="alert(1)'},
        {"parent": "*"},
    ],
)
def test_a_parent_not_on_the_allow_list_gets_no_messages(embed_client, query):
    response = embed_client.get(f"/b/{SLUG}/embed", params=query)
    assert response.status_code == 200
    html = response.text
    assert "data-parent-origin" not in html  # embed-frame.js then posts nothing
    assert 'class="site-header"' not in html  # still the embed view
    assert hidden_fields(html) | {"ballot": ""} == {"ballot": "", "embed": "1"}
    assert "onload" not in html and "alert(1)" not in html
    assert frame_ancestors(response) == list(ALLOWED)


def test_the_simulator_with_embed_1_is_the_embed_view_and_without_it_is_the_site(embed_client):
    embedded = embed_client.get(f"/b/{SLUG}", params={"embed": "1", "parent": PARENT})
    assert f'data-parent-origin="{PARENT}"' in embedded.text
    assert 'class="site-header"' not in embedded.text
    site = embed_client.get(f"/b/{SLUG}", params={"parent": PARENT})
    assert 'class="site-header"' in site.text and 'class="site-footer"' in site.text
    assert "data-parent-origin" not in site.text and "embed-frame.js" not in site.text
    assert frame_ancestors(site) == list(ALLOWED)  # the same resident page, framable or not


def test_embed_keeps_the_language(embed_client):
    response = embed_client.get(f"/b/{SLUG}/embed", params={"lang": "es", "parent": PARENT})
    fields = hidden_fields(response.text)
    assert fields.get("embed") == "1" and fields.get("parent") == PARENT
    if fields.get("lang") is not None:  # once Spanish is an interface language
        assert fields["lang"] == "es"


def test_submitting_in_the_frame_stays_in_the_frame(embed_client, rows):
    page = embed_client.get(f"/b/{SLUG}/embed", params={"parent": PARENT})
    form = hidden_fields(page.text)
    assert form["ballot"] == ballot_of(page.text)

    totals = embed_client.post(f"/b/{SLUG}", data=form, headers={"HX-Request": "true"})
    assert totals.status_code == 200 and frame_ancestors(totals) == list(ALLOWED)
    no_cookie(totals)
    without_js = embed_client.post(f"/b/{SLUG}", data=form)
    assert 'class="site-header"' not in without_js.text
    assert f'data-parent-origin="{PARENT}"' in without_js.text
    assert frame_ancestors(without_js) == list(ALLOWED)
    no_cookie(without_js)

    submitted = embed_client.post(f"/b/{SLUG}/submit", data=form)
    assert submitted.status_code == 303
    no_cookie(submitted)
    assert rows.submissions() == 1
    location = urlsplit(submitted.headers["location"])
    assert re.fullmatch(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}", location.path)
    assert parse_qs(location.query) == {"embed": ["1"], "parent": [PARENT]}

    receipt = embed_client.get(submitted.headers["location"])
    assert receipt.status_code == 200
    html = receipt.text
    assert 'class="site-header"' not in html and 'class="site-footer"' not in html
    assert f'data-parent-origin="{PARENT}"' in html and "embed-frame.js" in html
    assert frame_ancestors(receipt) == list(ALLOWED)
    no_cookie(receipt)
    # The permalink opens outside the frame; starting again stays inside it.
    links = re.findall(r'<a\b([^>]*)\bhref="([^"]*)"([^>]*)>', html)
    [(before, permalink, after)] = [link for link in links if "/r/" in link[1]]
    assert "embed" not in permalink and "parent" not in permalink
    assert 'target="_blank"' in before + after and 'rel="noopener"' in before + after
    inside = [unescape(href) for _, href, _ in links if "/r/" not in href and "#" not in href]
    assert inside, "the receipt links back to the simulator"
    for href in inside:
        assert (
            parse_qs(urlsplit(href).query).items() >= {"embed": ["1"], "parent": [PARENT]}.items()
        )


def test_a_rejected_submission_in_the_frame_is_shown_in_the_frame(embed_client, rows):
    page = embed_client.get(f"/b/{SLUG}/embed", params={"parent": PARENT})
    form = hidden_fields(page.text) | {"line.nope": "12"}
    response = embed_client.post(f"/b/{SLUG}/submit", data=form)
    assert response.status_code in (400, 422)
    assert rows.submissions() == 0
    no_cookie(response)
    if response.status_code == 422:
        assert 'class="site-header"' not in response.text
        assert frame_ancestors(response) == list(ALLOWED)


NOT_RESIDENT = [
    "/",
    f"/?embed=1&parent={PARENT}",
    "/b/nowhere",
    "/b/nowhere/embed",
    f"/b/{SLUG}/r/missing?embed=1&parent={PARENT}",
    "/static/app.css",
    "/static/embed.js",
    "/static/embed-frame.js",
    "/static/nope",
]


@pytest.mark.parametrize("path", NOT_RESIDENT)
def test_every_other_page_is_never_framed(embed_client, path):
    response = embed_client.get(path)
    assert frame_ancestors(response) == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    no_cookie(response)


@pytest.mark.parametrize(
    "path", ["/staff/login", "/staff", f"/staff/login?embed=1&parent={PARENT}"]
)
def test_staff_pages_are_never_framed(embed_client, path):
    response = embed_client.get(path)
    assert frame_ancestors(response) == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"


def test_wrong_methods_and_forged_posts_are_never_framed(embed_client):
    for response in (
        embed_client.put(f"/b/{SLUG}/embed"),
        embed_client.post(f"/b/{SLUG}/submit", data={"ballot": "forged", "embed": "1"}),
        embed_client.post(
            f"/b/{SLUG}/submit", content=b"x", headers={"content-type": "text/plain"}
        ),
    ):
        assert response.status_code >= 400
        assert frame_ancestors(response) == ["'none'"]
        no_cookie(response)


def test_a_budget_without_an_allow_list_is_never_framed(client):
    response = client.get(f"/b/{SLUG}/embed", params={"parent": PARENT})
    assert response.status_code == 200
    assert frame_ancestors(response) == ["'none'"]
    assert "data-parent-origin" not in response.text


def test_static_scripts_are_served_as_javascript(embed_client):
    for name in ("embed.js", "embed-frame.js"):
        response = embed_client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
    frame = embed_client.get("/static/embed-frame.js").text
    host = embed_client.get("/static/embed.js").text
    for script in (frame, host):
        assert '"*"' not in script and "'*'" not in script
    assert "postMessage(" in frame and "event.origin !== frame.origin" in host
    assert "event.source !== frame.iframe.contentWindow" in host


# --- budget-sim embed SLUG --base-url URL ------------------------------------------------


def run_embed(settings, *argv):
    """`budget-sim embed SLUG ARGV` on `settings`: exit status, stdout, stderr."""
    result = CliRunner().invoke(cli.main, ["embed", SLUG, *argv], obj=settings)
    return result.exit_code, result.stdout, result.stderr


def test_cli_prints_the_two_line_snippet_and_the_allowed_origins(embed_settings):
    code, out, err = run_embed(
        embed_settings, "--base-url", "https://budget.example.org/", "--lang", "es"
    )
    assert code == 0
    assert out.splitlines() == [
        f'<div data-budget-sim="https://budget.example.org/b/{SLUG}" data-lang="es"></div>',
        '<script src="https://budget.example.org/static/embed.js" async></script>',
    ]
    assert ", ".join(ALLOWED) in err and "Warning" not in err


def test_cli_keeps_a_path_prefix_and_leaves_out_the_default_language(embed_settings):
    code, out, _ = run_embed(embed_settings, "--base-url", "https://city.example.org/budget")
    assert code == 0
    assert out.splitlines()[0] == (
        f'<div data-budget-sim="https://city.example.org/budget/b/{SLUG}"></div>'
    )
    assert "https://city.example.org/budget/static/embed.js" in out


def test_cli_warns_when_nobody_may_embed(settings):
    code, out, err = run_embed(settings, "--base-url", "https://budget.example.org")
    assert code == 0  # the shipped data: no origins
    assert "data-budget-sim" in out
    assert "Warning" in err and "embed_origins" in err and "refuse" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base-url", "budget.example.org"], "must be the site's address"),
        (["--base-url", "javascript:alert(1)"], "must be the site's address"),
        (["--base-url", "https://budget.example.org/?x=1"], "must be the site's address"),
        (["--base-url", "https://budget.example.org", "--lang", "fr"], "is offered in en"),
    ],
)
def test_cli_refuses_what_would_not_work(embed_settings, argv, message):
    code, out, err = run_embed(embed_settings, *argv)
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert out == ""


def test_cli_refuses_markup_in_the_address(embed_settings):
    code, out, err = run_embed(embed_settings, "--base-url", 'https://budget.example.org/a"b<c')
    assert code == 2 and "must be the site's address" in err
    assert out == ""
