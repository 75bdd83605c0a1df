"""Test hook: holds one batch in flight so a fault test can act on it surely mid-batch, not by polling.

Python imports this at start-up in processes started with tests/hooks on PYTHONPATH and HD_TEST_HOLD set
to a folder (tests/helpers.py: Hold). The first RQ job to prepare a batch writes <folder>/held (its pid,
then the batch's ids, one a line) and waits there until <folder>/release exists. It is held after the
batch was read and before anything is written: a batch's writes are one atomic script, so this is the
point where a worker's death or a Redis outage leaves the most undone. Every later batch passes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def _install(folder: Path) -> None:
    from rq import get_current_job

    from headline_dedup import pipeline
    from headline_dedup.state.headlines import Row

    prepare = pipeline.prepare

    def held_prepare(engine: Any, rows: list[Row]) -> Any:
        items = prepare(engine, rows)
        if get_current_job() is not None and _claim(folder, rows):
            while not (folder / "release").exists():
                time.sleep(0.01)
        return items

    pipeline.prepare = held_prepare


def _claim(folder: Path, rows: list[Any]) -> bool:
    """Write `held` if no batch holds it yet; a link is atomic and fails when the name exists."""
    draft = folder / f"held.{os.getpid()}"
    draft.write_text("\n".join([str(os.getpid()), *(row.id for row in rows)]))
    try:
        os.link(draft, folder / "held")
        return True
    except FileExistsError:
        return False
    finally:
        draft.unlink()


if os.environ.get("HD_TEST_HOLD"):
    _install(Path(os.environ["HD_TEST_HOLD"]))
