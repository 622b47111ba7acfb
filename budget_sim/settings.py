"""Settings from BUDGET_SIM_* environment variables or .env: the only reader of os.environ."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from budget_sim import resources

DATABASE_FILE = "budget-sim.db"
DATABASE_SCHEMES = ("sqlite", "postgresql+psycopg")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


_NETLOC = re.compile(r"(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]+)*/?")


def check_base_url(value: str) -> str:
    """The site's public address as `scheme://host[:port][/path]` (no trailing slash), or
    ValueError saying what is wrong. A path is where a proxy serves the site (stripping it)."""
    parts = urlsplit(value.strip())
    netloc = parts.netloc.lower()
    if (
        parts.scheme not in ("https", "http")
        or not _NETLOC.fullmatch(netloc)
        or not _PATH.fullmatch(parts.path)
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"{value!r} must be the site's address, such as https://budget.example.org or "
            "https://www.example.gov/budget (http or https, a host name, an optional port and "
            "path, no query)"
        )
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _comma_list(value: object) -> object:
    """`a, b` from the environment as ["a", "b"]; a list as it is."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every knob budget-sim has. Each one is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="BUDGET_SIM_", env_file=".env", frozen=True)

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db "
        "(default: SQLite in the instance folder)",
    )
    data_dir: Path = Field(
        default_factory=resources.budget_data,
        description="Folder holding one folder per budget (default: the shipped budgets)",
    )
    default_budget: str = Field(
        default="cambridge-fy2026", description="Slug of the budget listed first on the home page"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs ballot tokens; generated into instance/secret_key if unset",
    )
    instance_dir: Path = Field(
        default=Path("instance"),
        description="Folder for this site's own files: the SQLite database by default and the "
        "generated secret key (relative to the working directory; never inside the package)",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        description="Largest request body accepted (a 349-line budget with a 500-character "
        "comment on every line, urlencoded, is about 1.6 MB)",
    )
    ballot_max_age_seconds: int = Field(
        default=24 * 3600, description="How long a ballot token stays valid"
    )
    warm_insights: bool = Field(
        default=True,
        description="Compute every budget's default dashboard views in the background at start-up",
    )
    base_url: str | None = Field(
        default=None,
        description="The site's public address (https://budget.example.org, or with the path "
        "a proxy serves it under) for links shown or "
        "sent elsewhere: receipts, drafts, invitations, the embed snippet. Unset: the address "
        "of each request, as seen through the trusted proxies",
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1", "::1"],
        description="Proxies (IP addresses or networks, comma-separated; * for any) whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default=list(LOOPBACK_HOSTS),
        description="Host names the site answers to (comma-separated; *.example.org for a "
        "domain's hosts; * for any), besides the host of base_url; any other Host gets 400",
    )
    draft_max_age_days: int = Field(
        default=90,
        ge=1,
        description="How long a resident's saved draft link works; older drafts are deleted",
    )
    drafts_per_address_per_hour: int = Field(
        default=100,
        ge=1,
        description="Drafts one network address may save in an hour (raise it for a venue where "
        "many residents share one address)",
    )
    funnel_retention_days: int = Field(
        default=90,
        ge=1,
        description="How long the participation funnel's events (no address, no cookie) are kept "
        "before they are deleted",
    )
    interval_resamples: int = Field(
        default=200,
        ge=20,
        le=2000,
        description="Resamples behind the 95% intervals of the staff dashboard's headline",
    )

    @model_validator(mode="before")
    @classmethod
    def _database_in_instance(cls, values: Any) -> Any:
        """The instance folder as an absolute path (fixed at start, whatever the process does
        later); no URL given: SQLite in that folder."""
        if not isinstance(values, dict):
            return values
        folder = Path(values.get("instance_dir") or "instance").absolute()
        values = {**values, "instance_dir": folder}
        if not values.get("database_url"):
            values["database_url"] = f"sqlite:///{folder / DATABASE_FILE}"
        return values

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        """SQLite or PostgreSQL through psycopg 3; the message never repeats the URL (it may
        hold a password)."""
        scheme = url.partition("://")[0] if "://" in url else None
        if scheme in DATABASE_SCHEMES:
            return url
        hint = " (PostgreSQL through psycopg 3: +psycopg)" if scheme == "postgresql" else ""
        raise ValueError(
            "must look like sqlite:///path/to/file.db or "
            f"postgresql+psycopg://user:password@host:port/database{hint}"
        )

    _split_lists = field_validator("forwarded_allow_ips", "allowed_hosts", mode="before")(
        _comma_list
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return check_base_url(value) if value else None

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError as error:
                    raise ValueError(
                        f"{item!r} is not an IP address or network such as 10.0.0.5 or 10.0.0.0/24"
                    ) from error
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = [_host_pattern(item) for item in value]
        for item, host in zip(value, hosts, strict=True):
            wildcard = host == "*" or (host.startswith("*.") and "*" not in host[1:])
            if "/" in host or ("*" in host and not wildcard):
                raise ValueError(
                    f"{item!r} is not a host name such as budget.example.org, *.example.org or *"
                )
        return hosts

    @property
    def trusted_hosts(self) -> list[str]:
        """The Host values answered: allowed_hosts and the host of base_url."""
        if not self.base_url:
            return list(self.allowed_hosts)
        return [*self.allowed_hosts, _host_pattern(urlsplit(self.base_url).hostname or "")]


def _host_pattern(host: str) -> str:
    """A host as it appears in a Host header: lower case, an IPv6 address in brackets."""
    host = host.strip().lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
