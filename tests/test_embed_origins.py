"""Embed origins in budget.toml: exactly an origin (it goes into a CSP header and is compared with
a browser's origin string), https only except loopback hosts, nothing that could inject."""

from __future__ import annotations

import json

import pytest

from budget_sim.data import load_package
from budget_sim.web.security import content_security_policy
from tests.test_data import MANIFEST, manifest_problems, write_package


def _manifest(*origins: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes (\n, \r, \", \\, \uXXXX).
    listed = ", ".join(json.dumps(origin) for origin in origins)
    return MANIFEST.replace("[title]", f"embed_origins = [{listed}]\n[title]")


GOOD = [
    "https://example.org",
    "https://budget.city.gov:8443",
    "https://127.0.0.1",
    "http://127.0.0.1:8000",
    "http://127.0.0.2:54321",
    "http://127.255.255.254",
    "http://localhost",
    "http://localhost:3000",
    "http://[::1]:8080",
    "https://[::1]",
]


def test_good_origins_load_unchanged(tmp_path):
    budget = load_package(write_package(tmp_path, manifest=_manifest(*GOOD)))
    assert budget.embed_origins == tuple(GOOD)


def test_frame_ancestors_lists_exactly_the_allow_list(tmp_path):
    budget = load_package(write_package(tmp_path, manifest=_manifest(*GOOD)))
    csp = content_security_policy(budget.embed_origins)
    directives = [d.strip() for d in csp.split(";")]
    [ancestors] = [d for d in directives if d.startswith("frame-ancestors ")]
    assert ancestors.split()[1:] == GOOD
    assert len(directives) == len(content_security_policy().split(";"))


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        # plain http is for loopback hosts only
        ("http://example.org", "it must use https://"),
        ("http://127.0.0.1.example.org", "it must use https://"),
        ("http://localhost.example.org", "it must use https://"),
        ("http://10.0.0.1:8000", "it must use https://"),
        ("http://128.0.0.1", "it must use https://"),
        ("http://127.1", "it must use https://"),
        ("http://0177.0.0.1", "it must use https://"),
        ("http://127.0.0.256", "it must use https://"),
        ("http://[::2]", "the host must be a lower-case name"),
        ("http://[::ffff:127.0.0.1]", "the host must be a lower-case name"),
        ("http://[::1", "the host must be a lower-case name"),
        ("HTTP://127.0.0.1", "it must start with https://"),
        ("ftp://127.0.0.1", "it must start with https://"),
        ("//example.org", "it must start with https://"),
        ("javascript:alert(1)", "it must start with https://"),
        # exactly an origin
        ("http://127.0.0.1:8000/", "without a path"),
        ("http://user@127.0.0.1", "without a path, query or user"),
        ("https://example.org?x=1", "without a path, query or user"),
        ("http://Localhost", "the host must be a lower-case name"),
        ("https://", "the host must be a lower-case name"),
        ("https://example.org:", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:65536", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:08000", "the port must be a number from 1 to 65535"),
        ("http://127.0.0.1:8000:9000", "the host must be a lower-case name"),
        ("https://example.org:\uff18\uff14\uff14\uff13", "printable ASCII"),
        ("https://example.org:443", "leave out the default port :443"),
        ("http://localhost:80", "leave out the default port :80"),
        # header injection: nothing may end the directive, the header, or add a source
        ("https://example.org; script-src *", "must not contain spaces, ';'"),
        ("https://example.org;report-uri=https://evil.example", "must not contain spaces, ';'"),
        ("https://example.org\r\nSet-Cookie: a=b", "must not contain spaces"),
        ("https://example.org\nX-Evil: 1", "must not contain spaces"),
        ("https://example.org\x00", "printable ASCII"),
        ("https://example.org\x7f", "printable ASCII"),
        ("https://example.org\u2028", "must not contain spaces"),
        ("https://ex\u0430mple.org", "printable ASCII"),
        ("https://a.org,https://b.org", "must not contain spaces, ';', ','"),
        ("https://a.org\thttps://b.org", "must not contain spaces"),
        ("'self'", "quotes"),
        ("'unsafe-inline'", "quotes"),
        ('"https://example.org"', "quotes"),
        ("*", "wildcards are not allowed"),
        ("http://*:8000", "wildcards are not allowed"),
        ("http://127.0.0.1:*", "wildcards are not allowed"),
        ("data:", "it must start with https://"),
        ("https:", "it must start with https://"),
        ("", "it must not contain spaces"),
    ],
)
def test_bad_origins_are_refused(tmp_path, origin, reason):
    [problem] = manifest_problems(tmp_path, _manifest(origin))
    assert problem.file == "demo/budget.toml"
    assert problem.column == "embed_origins[0]"
    assert problem.message.startswith(f"{origin!r} is not an allowed embed origin: ")
    assert reason in problem.message


def test_every_bad_origin_is_reported_with_its_position(tmp_path):
    manifest = _manifest("https://ok.example.org", "http://example.org", "http://localhost:1")
    [problem] = manifest_problems(tmp_path, manifest)
    assert problem.column == "embed_origins[1]"
