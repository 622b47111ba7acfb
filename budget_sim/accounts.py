"""Staff account policy: roles, password rules and hashing (argon2id), sign-in throttling and
session lifetimes. No storage, no web: both use these."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = {
    "admin": "everything: budgets, staff accounts, insights and exports",
    "analyst": "read insights and export them, for the budgets they are given",
}
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 256

# Throttling slows guessing without locking anyone out: failures are counted over a day; past
# the free ones, each further attempt waits after the latest failure, 1 s doubling up to 15 min.
# Refused attempts are not failures (they never extend the wait), and an address that has not
# failed for an account is not slowed by that account's failures from elsewhere.
THROTTLE_WINDOW = timedelta(hours=24)
ACCOUNT_FREE_FAILURES = 5  # per account (from addresses that failed for it)
ADDRESS_FREE_FAILURES = 20  # per network address (any account)
FIRST_WAIT = timedelta(seconds=1)
LONGEST_WAIT = timedelta(minutes=15)
# argon2 takes 64 MiB and ~0.1 s of a core per check: at most half the cores check passwords,
# so a burst of sign-ins always leaves the rest for residents.
PASSWORD_CHECKS_AT_ONCE = max(1, (os.cpu_count() or 2) // 2)


def next_attempt_at(failures: int, latest: datetime | None, free: int) -> datetime | None:
    """When the next attempt may be checked after `failures` recent failures, the latest at
    `latest`: at once (None) for the first `free`, then FIRST_WAIT after the latest failure,
    doubling with each further failure, at most LONGEST_WAIT."""
    if failures < free or latest is None:
        return None
    return latest + min(FIRST_WAIT * 2 ** min(failures - free, 20), LONGEST_WAIT)


IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
INVITE_LIFETIME = timedelta(days=3)
RESET_LIFETIME = timedelta(hours=24)  # a password reset link, made by an admin

_hasher = PasswordHasher()  # argon2id with the library's current RFC 9106 defaults
# Verifying an unknown account against this keeps the time of a failed sign-in the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def password_problem(password: str, email: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < PASSWORD_MIN_CHARS:
        return f"must be at least {PASSWORD_MIN_CHARS} characters"
    if len(password) > PASSWORD_MAX_CHARS:
        return f"must be at most {PASSWORD_MAX_CHARS} characters"
    if password.strip().lower() == email.strip().lower():
        return "must not be your email address"
    if len(set(password)) < 5:
        return "is too easy to guess: use a longer phrase with more different characters"
    return None


def email_problem(email: str) -> str | None:
    """Why an address cannot be a staff account's email, or None: name@domain.tld, no spaces,
    at most 254 characters (RFC 5321)."""
    email = email.strip()
    local, _, domain = email.partition("@")
    labels = domain.split(".")
    if (
        email.count("@") != 1
        or not local
        or len(labels) < 2
        or not all(labels)
        or len(email) > 254
        or any(c.isspace() for c in email)
    ):
        return "is not an email address such as name@city.gov"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; constant work whether or not the account exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    """A random secret for cookies, CSRF and invitations (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored of a secret token: its SHA-256, so a database leak opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()
