"""What the rest of the site knows of the JSON API: where it lives and how it answers (JSON that
writes exact decimals and dates; every error as `{"error": {"code": ..., "message": ...}}`).
paths.py answers an /api/ address holding a control character with it, and the staff tokens
page names the address, without either importing the API itself."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

PREFIX = "/api/v1"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class JsonResponse(Response):
    """JSON that also writes exact decimals (as strings) and dates (ISO 8601)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, default=_json_value, ensure_ascii=False, allow_nan=False)
        return text.encode()


def error_response(status: int, code: str, message: str) -> Response:
    response = JsonResponse({"error": {"code": code, "message": message}}, status_code=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="budget-sim"'
    return response
