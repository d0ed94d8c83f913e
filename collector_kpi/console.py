"""The `kpi` console script: the input files' hashing for the audit manifest begins before
the command-line parser and polars are imported (see `manifest.hash_from_argv`)."""

from __future__ import annotations

import sys


def main() -> None:
    from .safe_text import guard_stdout

    guard_stdout()
    if sys.argv[1:2] == ["score"]:
        from .manifest import hash_from_argv

        hash_from_argv(sys.argv[1:])
    from .cli import main as run

    run()
