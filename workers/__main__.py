"""Worker entry point: `python -m headline_dedup.workers [--burst]` (or `headlines worker`)."""

from __future__ import annotations

import sys

from headline_dedup.cli.run import run_worker


def main() -> None:
    run_worker(burst="--burst" in sys.argv[1:])


if __name__ == "__main__":
    main()
