"""Settings from BUDGET_SIM_* environment variables or .env: the only reader of os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from budget_sim import resources

DATABASE_FILE = "budget-sim.db"
DATABASE_SCHEMES = ("sqlite", "postgresql+psycopg")


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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
