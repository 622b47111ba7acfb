"""budget-sim: an open-source participatory budget simulator."""

from __future__ import annotations

__version__ = "0.1.0"
