"""The web layer: the app factory (app.py) and what every audience shares at this level, then a
package per audience: resident/ (the simulator and what residents see), staff/ (the staff
workspace) and api/ (the JSON API). Nothing imports it but the command line."""

from __future__ import annotations

from budget_sim.web.app import create_app

__all__ = ["create_app"]
