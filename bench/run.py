"""Runs the benchmarks named on the command line (all when none) and prints their figures.

Each benchmark is a module ``bench.<name>`` with a ``main(argv) -> int`` function; figures are
recorded by hand, with the command and the machine, in bench/RESULTS.md.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).parent


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    names = argv or available()
    if not names:
        print("no benchmarks defined")
        return 0
    status = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}")
        status |= int(module.main([]))
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
