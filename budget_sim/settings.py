"""Settings from BUDGET_SIM_* environment variables or .env: the only reader of os.environ."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob budget-sim has. Each one is documented in the README."""

    model_config = SettingsConfigDict(env_prefix="BUDGET_SIM_", env_file=".env", frozen=True)

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'instance' / 'budget-sim.db'}",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "budget_data", description="Folder holding one folder per budget"
    )
    default_budget: str = Field(
        default="cambridge-fy2026", description="Slug of the budget listed first on the home page"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs ballot tokens; generated into instance/secret_key if unset",
    )
    instance_dir: Path = Field(
        default=PROJECT_ROOT / "instance", description="Folder for the generated secret key"
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
    interval_resamples: int = Field(
        default=200,
        ge=20,
        le=2000,
        description="Resamples behind the 95% intervals of the staff dashboard's headline",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
