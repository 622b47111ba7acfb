"""The web layer: app factory, routes, views. Nothing imports it but the command line."""

from __future__ import annotations

from budget_sim.web.app import create_app

__all__ = ["create_app"]
