"""Signed ballot tokens: the CSRF token and idempotency key of a resident's submission.

No cookie is involved, so the resident flow works inside third-party iframes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cached_property

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class ForgedBallot(Exception):
    """The token was not made by this server for this budget."""


class ExpiredBallot(Exception):
    """The token is genuine but too old; the resident gets a fresh one and keeps their values."""


@dataclass(frozen=True)
class BallotSigner:
    secret_key: str
    max_age_seconds: int

    @cached_property  # made once: a submission checks its token with it
    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt="budget-sim.ballot")

    def issue(self, slug: str) -> str:
        """A new token for `slug` with a fresh 128-bit nonce."""
        return self._serializer.dumps({"b": slug, "n": secrets.token_hex(16)})

    def nonce(self, token: str, slug: str) -> str:
        """The nonce of a valid token for `slug`; raises ForgedBallot or ExpiredBallot."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as error:
            raise ExpiredBallot from error
        except BadSignature as error:
            raise ForgedBallot from error
        if (
            not isinstance(data, dict)
            or data.get("b") != slug
            or not isinstance(data.get("n"), str)
        ):
            raise ForgedBallot
        return data["n"]
