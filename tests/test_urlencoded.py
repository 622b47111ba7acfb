"""The resident form's urlencoded parser reads bodies exactly as Starlette's parser did."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from starlette.datastructures import Headers
from starlette.formparsers import FormParser

from budget_sim.forms import FormTooLarge, parse_urlencoded

BODIES = [
    b"",
    b"a=1&b=2",
    b"a=1&&b=2&",  # empty pieces are skipped
    b"&a",  # a name with no "=" has an empty value
    b"a=&=b&c==d",
    b"comment=Hello+world%21+%C3%A9t%C3%A9&line.x=1%2C000",
    b"name%3Dodd=v%26alue&plus=%2B&space=a+b",
    b"bad=%ZZ&half=%C3&raw=\xc3\xa9",  # broken escapes and raw non-ASCII bytes
    b"dup=1&dup=2",
    urlencode([("comment.parks", "More trees \u2014 and shade\n"), ("ballot", "x.y-z_")]).encode(),
]


def starlette_pairs(body: bytes) -> list[tuple[str, str]]:
    async def parse():
        async def stream():
            yield body
            yield b""

        headers = Headers({"content-type": "application/x-www-form-urlencoded"})
        return await FormParser(headers, stream(), max_fields=1000).parse()

    with ThreadPoolExecutor(1) as pool:  # the browser tests keep a loop running in this thread
        return list(pool.submit(asyncio.run, parse()).result().multi_items())


@pytest.mark.parametrize("body", BODIES)
def test_same_pairs_as_starlettes_parser(body):
    assert parse_urlencoded(body, 1000, 16 * 1024) == starlette_pairs(body)


def test_too_many_fields_and_too_large_a_field_are_refused():
    assert len(parse_urlencoded(b"a=1&b=2&c=3", 3, 100)) == 3
    with pytest.raises(FormTooLarge, match="Maximum number of fields is 2"):
        parse_urlencoded(b"a=1&b=2&c=3", 2, 100)
    assert parse_urlencoded(b"a=" + b"x" * 99, 10, 100) == [("a", "x" * 99)]
    with pytest.raises(FormTooLarge, match="maximum size of 1KB"):
        parse_urlencoded(b"a=" + b"x" * 1024, 10, 1024)
