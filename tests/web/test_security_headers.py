"""Every response carries the security headers; resident pages allow only the budget's framers."""

from __future__ import annotations

import pytest

from budget_sim.web.compression import FRAGMENT_MINIMUM_BYTES
from tests.web.conftest import SLUG, ballot_of

PATHS = ["/", f"/b/{SLUG}", "/b/nowhere", f"/b/{SLUG}/r/missing", "/static/app.css", "/static/nope"]


@pytest.mark.parametrize("path", PATHS)
def test_csp_and_standard_headers_everywhere(client, path):
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "set-cookie" not in response.headers
    assert "access-control-allow-origin" not in response.headers


def test_pages_are_not_framable_without_an_allow_list(client):
    for path in ("/", f"/b/{SLUG}"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_htmx_runs_without_eval_or_inline_styles(client):
    html = client.get(f"/b/{SLUG}").text
    assert '"allowEval":false' in html.replace("&#34;", '"')
    assert '"includeIndicatorStyles":false' in html.replace("&#34;", '"')
    assert "<script>" not in html and " style=" not in html and "<style" not in html


def test_templates_escape_what_they_show(client):
    response = client.get("/b/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert "<script>alert(1)</script>" not in response.text


def test_public_pages_are_compressed_and_staff_pages_are_not(client):
    page = client.get("/b/oakland-fy2023", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in page.headers["vary"].lower()
    script = client.get("/static/vendor/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-encoding"] == "gzip"
    staff = client.get("/staff/login", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in staff.headers  # BREACH: secrets beside reflected text


def test_a_small_fragment_goes_uncompressed_and_a_large_one_compressed(client):
    """A slider's fragment fits TCP's first window as it is: gzip would only cost CPU. A plan
    that changed many lines refreshes each of their rows: that one is large, and compressed."""
    ballot = ballot_of(client.get(f"/b/{SLUG}").text)
    headers = {"Accept-Encoding": "gzip", "HX-Request": "true"}
    movable = [
        line
        for line in client.app_state["budgets"][SLUG].line_rules
        if not line.locked and line.step and line.amount + line.step <= line.max
    ]
    one = {f"line.{movable[0].id}": str((movable[0].amount + movable[0].step) / 100)}
    small = client.post(f"/b/{SLUG}", data={"ballot": ballot, **one}, headers=headers)
    assert small.status_code == 200 and "<html" not in small.text
    assert "content-encoding" not in small.headers
    assert int(small.headers["content-length"]) < FRAGMENT_MINIMUM_BYTES
    many = {f"line.{line.id}": str((line.amount + line.step) / 100) for line in movable}
    large = client.post(f"/b/{SLUG}", data={"ballot": ballot, **many}, headers=headers)
    assert large.status_code == 200 and "<html" not in large.text
    assert large.headers["content-encoding"] == "gzip"
    assert len(large.content) > FRAGMENT_MINIMUM_BYTES  # httpx decompressed it
