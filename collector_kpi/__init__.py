"""collector-kpi: score debt collectors and teams from a month of collection exports.

The public API works on plain data and polars frames::

    from collector_kpi import load_scheme, load_month, score
    scheme = load_scheme("configs/default.yaml")
    card = score(scheme, load_month(scheme, "2025-03"))
    card.table("collector")   # the output contract, a polars DataFrame
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_month", "load_scheme", "score"]

if TYPE_CHECKING:  # pragma: no cover
    from .api import load_month, load_scheme, score


def __getattr__(name: str) -> Any:
    # NOTE: imported on first use so `kpi --help` does not pay for polars.
    if name in ("load_month", "load_scheme", "score"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)
