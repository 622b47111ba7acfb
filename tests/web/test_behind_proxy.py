"""Behind a TLS reverse proxy: relative links, forwarded headers believed only from the trusted
proxies, allowed hosts, HSTS over https, absolute links from BUDGET_SIM_BASE_URL, and the
security headers on every response, 500 included."""

from __future__ import annotations

import re

import pytest
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from budget_sim.settings import Settings, check_base_url
from budget_sim.web import create_app
from budget_sim.web.urls import embed_snippet
from tests.web.conftest import SLUG, adjustable_expense, ballot_of, units
from tests.web.test_staff import PASSWORD, csrf_of, make_staff, sql
from tests.web.test_staff_budgets import GOOD_CSV, publish, upload
from tests.web.test_staff_budgets import SLUG as NEW_SLUG

PROXY = ("127.0.0.1", 40000)  # nginx on the same machine
STRANGER = ("198.51.100.7", 40000)  # anyone else on the network
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
URL_ATTRIBUTE = re.compile(r'(?:href|src|action|formaction|hx-post|hx-get)="([^"]*)"')


def _client(app, peer=PROXY, **kwargs) -> TestClient:
    return TestClient(app, client=peer, follow_redirects=False, **kwargs)


def _urls(html: str) -> list[str]:
    return URL_ATTRIBUTE.findall(html)


def _submit_form(client: TestClient, budget, headers=None) -> dict[str, str]:
    line = adjustable_expense(budget, max_step=budget.rules.tolerance)
    page = client.get(f"/b/{SLUG}", headers=headers).text
    return {"ballot": ballot_of(page), f"line.{line['id']}": units(line["amount"] + line["step"])}


def test_pages_link_with_relative_urls_even_behind_a_tls_proxy(client, admin, budget):
    with _client(client.app) as proxied:
        pages = [proxied.get(path, headers=FORWARDED) for path in ("/", f"/b/{SLUG}")]
        submitted = proxied.post(
            f"/b/{SLUG}/submit", data=_submit_form(proxied, budget, FORWARDED), headers=FORWARDED
        )
        assert submitted.status_code == 303
        assert submitted.headers["location"].startswith(f"/b/{SLUG}/r/")
        pages.append(proxied.get(submitted.headers["location"], headers=FORWARDED))
    pages += [admin.get(path) for path in ("/staff", "/staff/budgets", "/staff/users")]
    for page in pages:
        assert page.status_code == 200
        urls = _urls(page.text)
        assert any(url.startswith("/static/") for url in urls)
        absolute = [url for url in urls if "://" in url or url.startswith("//")]
        assert all(url.startswith("https://") and "testserver" not in url for url in absolute), (
            page.url,
            absolute,
        )  # only links to other sites (a budget's source), never ours as http://


def test_a_tls_proxy_makes_the_request_https_and_names_the_real_client(client, settings, budget):
    make_staff(settings.database_url, "ada@city.gov")
    with _client(client.app) as proxied:
        page = proxied.get(f"/b/{SLUG}", headers=FORWARDED)
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        # A browser without Fetch Metadata sends only Origin: the https origin is ours.
        form = _submit_form(proxied, budget, FORWARDED)
        origin = {**FORWARDED, "Origin": "https://testserver"}
        assert proxied.post(f"/b/{SLUG}/submit", data=form, headers=origin).status_code == 303
        signed_in = proxied.post(
            "/staff/login",
            data={"email": "ada@city.gov", "password": PASSWORD, "next": "/staff"},
            headers=origin,
        )
        assert signed_in.status_code == 303 and "__Host-" in signed_in.headers["set-cookie"]
    assert sql(settings.database_url, "SELECT address FROM audit_log") == [("203.0.113.9",)]


def test_forwarded_headers_from_anyone_else_are_ignored(client, settings, budget):
    with _client(client.app, peer=STRANGER) as stranger:
        page = stranger.get(f"/b/{SLUG}", headers=FORWARDED)
        assert "strict-transport-security" not in page.headers  # still plain http
        form = _submit_form(stranger, budget, FORWARDED)
        posing = {**FORWARDED, "Origin": "https://testserver"}  # not this http site's origin
        assert stranger.post(f"/b/{SLUG}/submit", data=form, headers=posing).status_code == 403
        stranger.post(
            "/staff/login", data={"email": "x@city.gov", "password": "wrong password!"}
        )  # refused over http: nothing recorded
    with _client(client.app, peer=STRANGER, base_url="https://testserver") as stranger:
        stranger.post(
            "/staff/login",
            data={"email": "x@city.gov", "password": "wrong password!"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    assert sql(settings.database_url, "SELECT address FROM audit_log") == [("198.51.100.7",)]


def test_the_trusted_proxies_are_a_setting(settings):
    trusting = Settings(**{**settings.model_dump(), "forwarded_allow_ips": ["198.51.100.0/24"]})
    with _client(create_app(trusting), peer=STRANGER) as proxied:
        page = proxied.get("/", headers=FORWARDED)
        assert "strict-transport-security" in page.headers
    with _client(create_app(trusting), peer=PROXY) as local:  # no longer trusted
        assert "strict-transport-security" not in local.get("/", headers=FORWARDED).headers


def test_hsts_only_over_https(client):
    assert "strict-transport-security" not in client.get("/").headers
    with TestClient(client.app, base_url="https://testserver") as secure:
        for path in ("/", f"/b/{SLUG}", "/static/app.css", "/b/nowhere", "/staff/login"):
            assert secure.get(path).headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize("host", ["evil.example", "testserver.evil.example", "127.0.0.2"])
def test_a_host_the_site_does_not_answer_to_gets_400(client, host):
    response = client.get(f"/b/{SLUG}", headers={"Host": host})
    assert response.status_code == 400
    assert host not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_allowed_hosts_are_loopback_and_the_base_url_by_default():
    assert Settings().trusted_hosts == ["localhost", "127.0.0.1", "[::1]"]
    public = Settings(base_url="https://Budget.Example.org/", allowed_hosts="localhost, ::1")
    assert public.base_url == "https://budget.example.org"
    assert public.trusted_hosts == ["localhost", "[::1]", "budget.example.org"]


def test_lists_and_addresses_from_the_environment(monkeypatch):
    monkeypatch.setenv("BUDGET_SIM_ALLOWED_HOSTS", "budget.city.gov, *.city.gov")
    monkeypatch.setenv("BUDGET_SIM_FORWARDED_ALLOW_IPS", "10.0.0.5,10.1.0.0/16")
    monkeypatch.setenv("BUDGET_SIM_BASE_URL", "https://budget.city.gov")
    from_env = Settings()
    assert from_env.allowed_hosts == ["budget.city.gov", "*.city.gov"]
    assert from_env.forwarded_allow_ips == ["10.0.0.5", "10.1.0.0/16"]
    assert from_env.base_url == "https://budget.city.gov"


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("base_url", "budget.city.gov", "must be the site's address"),
        ("base_url", "https://city.gov/budget?x=1", "no query"),
        ("base_url", "https://city.gov/a b", "must be the site's address"),
        ("base_url", "ftp://budget.city.gov", "http or https"),
        ("base_url", "https://user@budget.city.gov", "a host name"),
        ("forwarded_allow_ips", "proxy.city.gov", "is not an IP address or network"),
        ("allowed_hosts", "https://budget.city.gov", "is not a host name"),
        ("allowed_hosts", "budget.*.gov", "is not a host name"),
    ],
)
def test_bad_proxy_settings_say_what_is_wrong(field, value, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        Settings(**{field: value})


def test_links_shown_or_sent_elsewhere_use_the_base_url(settings, budget, tmp_path):
    public = Settings(**{**settings.model_dump(), "base_url": "https://budget.city.gov"})
    make_staff(settings.database_url, "ada@city.gov")
    # The app is reached here as http://testserver, as it is behind a proxy by its own address.
    with _client(create_app(public)) as resident:
        form = _submit_form(resident, budget)
        receipt = resident.post(f"/b/{SLUG}/submit", data=form).headers["location"]
        assert receipt.startswith("/b/")  # the redirect stays relative
        page = resident.get(receipt).text
        assert f">https://budget.city.gov{receipt}</a>" in page
        draft = resident.post(f"/b/{SLUG}/draft", data=form).headers["location"]
        assert f">https://budget.city.gov{draft}</a>" in resident.get(draft).text
    with _client(create_app(public), base_url="https://testserver") as admin:
        admin.post("/staff/login", data={"email": "ada@city.gov", "password": PASSWORD})
        users = admin.get("/staff/users").text
        invited = admin.post(
            "/staff/users/invite",
            data={"csrf": csrf_of(users), "email": "bo@city.gov", "name": "Bo", "role": "analyst"},
        ).text
    assert re.search(r"https://budget\.city\.gov/staff/invite/[A-Za-z0-9_-]{20,}", invited)


def test_the_revision_page_shows_the_embed_snippet_from_the_base_url(settings):
    public = Settings(**{**settings.model_dump(), "base_url": "https://budget.city.gov"})
    make_staff(settings.database_url, "ada@city.gov")
    with _client(create_app(public), base_url="https://testserver") as admin:
        admin.post("/staff/login", data={"email": "ada@city.gov", "password": PASSWORD})
        origins = "https://www.city.gov"
        assert upload(admin, GOOD_CSV, embed_origins=origins).status_code == 303
        assert (
            "Show it on the city's site"
            not in admin.get(f"/staff/budgets/{NEW_SLUG}/revisions/1").text
        )  # a draft: nothing to embed yet
        assert publish(admin).status_code == 303
        page = admin.get(f"/staff/budgets/{NEW_SLUG}/revisions/1").text
    assert f"Pages on {origins} can show this budget" in page
    assert (
        f"&lt;div data-budget-sim=&#34;https://budget.city.gov/b/{NEW_SLUG}&#34;&gt;&lt;/div&gt;"
        in page
    )


def test_a_site_served_under_a_path_links_and_redirects_under_it(settings, budget):
    """nginx: `location /budget/ { proxy_pass http://127.0.0.1:8000/; }` strips the path."""
    public = Settings(**{**settings.model_dump(), "base_url": "https://www.city.gov/budget/"})
    make_staff(settings.database_url, "ada@city.gov")
    with _client(create_app(public), headers={"Host": "www.city.gov"}) as resident:
        page = resident.get(f"/b/{SLUG}", headers=FORWARDED).text
        assert f'action="/budget/b/{SLUG}/submit"' in page
        assert 'src="/budget/static/simulator.js"' in page
        form = _submit_form(resident, budget, FORWARDED)
        origin = {**FORWARDED, "Origin": "https://www.city.gov"}
        receipt = resident.post(f"/b/{SLUG}/submit", data=form, headers=origin)
        location = receipt.headers["location"]
        assert location.startswith(f"/budget/b/{SLUG}/r/")
        shown = resident.get(location.removeprefix("/budget"), headers=FORWARDED).text
        assert f">https://www.city.gov{location}</a>" in shown
        to_sign_in = resident.get("/staff/users", headers=FORWARDED)
        assert to_sign_in.headers["location"] == "/budget/staff/login?next=/staff/users"


def test_without_a_base_url_links_use_the_address_the_browser_used(client, budget):
    with _client(client.app) as proxied:
        form = _submit_form(proxied, budget, FORWARDED)
        receipt = proxied.post(f"/b/{SLUG}/submit", data=form, headers=FORWARDED)
        page = proxied.get(receipt.headers["location"], headers=FORWARDED).text
    assert f">https://testserver{receipt.headers['location']}</a>" in page


def test_the_embed_snippet_is_escaped_and_absolute():
    root = check_base_url("https://budget.city.gov/")
    assert embed_snippet(root, SLUG, "es").splitlines() == [
        f'<div data-budget-sim="https://budget.city.gov/b/{SLUG}" data-lang="es"></div>',
        '<script src="https://budget.city.gov/static/embed.js" async></script>',
    ]
    assert "&lt;" in embed_snippet(root, SLUG, "<x>")


def _raise(request: Request):
    raise RuntimeError("a bug")


@pytest.fixture
def crashing(settings):
    app = create_app(settings)
    app.router.routes.append(Route("/b/{slug}/crash", _raise))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("htmx", [False, True])
def test_a_500_carries_the_security_headers(crashing, htmx):
    response = crashing.get(f"/b/{SLUG}/crash", headers={"HX-Request": "true"} if htmx else {})
    assert response.status_code == 500
    assert "Nothing you did caused this" in response.text
    assert "a bug" not in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_500_over_https_carries_hsts(settings):
    app = create_app(settings)
    app.router.routes.append(Route("/crash", _raise))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as secure:
        response = secure.get("/crash")
    assert response.status_code == 500
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_receipts_and_drafts_are_never_cached(client, budget):
    form = _submit_form(client, budget)
    for action in ("submit", "draft"):
        location = client.post(f"/b/{SLUG}/{action}", data=form).headers["location"]
        assert client.get(location).headers["cache-control"] == "private, no-store"
    assert "cache-control" not in client.get(f"/b/{SLUG}").headers  # the public page may be


def test_staff_sign_in_over_plain_http_says_it_needs_https(client, settings):
    make_staff(settings.database_url, "ada@city.gov")
    page = client.get("/staff/login")  # http://testserver: not this computer
    assert "Staff sign-in needs HTTPS" in page.text
    refused = client.post("/staff/login", data={"email": "ada@city.gov", "password": PASSWORD})
    assert refused.status_code == 400 and "set-cookie" not in refused.headers
    assert "Staff sign-in needs HTTPS" in refused.text
    assert sql(settings.database_url, "SELECT count(*) FROM audit_log") == [(0,)]
    with TestClient(client.app, base_url="http://127.0.0.1:8000", follow_redirects=False) as local:
        assert "needs HTTPS" not in local.get("/staff/login").text  # browsers allow it here
        signed_in = local.post(
            "/staff/login", data={"email": "ada@city.gov", "password": PASSWORD, "next": "/staff"}
        )
        assert signed_in.status_code == 303 and "__Host-" in signed_in.headers["set-cookie"]
