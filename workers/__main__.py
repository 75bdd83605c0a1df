"""Worker entry point: `python -m headline_dedup.workers [--burst]` (or `headlines worker`)."""

from __future__ import annotations

import sys

from headline_dedup.errors import HeadlineError
from headline_dedup.workers.runner import run_worker


def main() -> None:
    try:
        run_worker(burst="--burst" in sys.argv[1:])
    except HeadlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
