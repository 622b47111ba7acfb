"""What an address may hold, checked once for every route: no control character anywhere in the
path (a NUL would reach PostgreSQL, which refuses it in text, as a 500), and numbers in the path
of at most nine digits (they fit every integer column, int4 included), so a receipt, draft key,
slug, invitation token or row number that cannot exist is a 404 before any view runs."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from budget_sim.web.json_api import error_response

CONTROL = r"\x00-\x1f\x7f-\x9f"  # Unicode's control characters (category Cc)


class RowNumber(Convertor[int]):
    """A row number in a path: 1 to 9 ASCII digits. Longer ones are not a match (404), never
    an integer too large for the database or for `int()`."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


class WithControl(Convertor[str]):
    """Any path holding a control character."""

    regex = rf"[^{CONTROL}]*[{CONTROL}][\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:  # pragma: no cover - never used to build a URL
        return value


ROW = "row"  # the convertor's name: Route("/staff/users/{user_id:row}/active", ...)
register_url_convertor(ROW, RowNumber())
register_url_convertor("with_control", WithControl())


async def no_such_address(request: Request) -> Response:
    if request.url.path.startswith("/api/"):  # the API's own JSON errors
        return error_response(404, "not_found", "There is nothing at this address.")
    raise HTTPException(404, "There is nothing at this address.")


# First in the route table: a path with a control character never reaches a view.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
routes = [Route("/{path:with_control}", no_such_address, methods=METHODS)]
