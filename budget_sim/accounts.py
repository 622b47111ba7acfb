"""Staff account policy: roles, password rules and hashing (argon2id), sign-in throttling and
session lifetimes. No storage, no web: both use these."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES = {
    "admin": "everything: budgets, staff accounts, insights and exports",
    "analyst": "read insights and export them, for the budgets they are given",
}
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 256

# Throttling: failures counted over the window; past the limit, sign-in waits out the window.
THROTTLE_WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURE_LIMIT = 5
ADDRESS_FAILURE_LIMIT = 20

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
INVITE_LIFETIME = timedelta(days=3)

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
