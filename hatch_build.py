"""Wheel build hook: put the vendored htmx (git-ignored, fetched by `make vendor`) in the wheel.

A wheel without it would serve pages whose script 404s, so a build without it fails here.
Editable installs skip this: they read static/ from the checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HTMX = "static/vendor/htmx.min.js"


class VendoredHtmx(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        if not (Path(self.root) / HTMX).is_file():
            raise FileNotFoundError(f"{HTMX} is missing: run `make vendor` (npm ci) first")
        build_data["force_include"][HTMX] = f"budget_sim/_resources/{HTMX}"
