"""Test hook: holds one batch in flight so a fault test can act on it surely mid-batch, not by polling.

Python imports this at start-up in processes started with tests/hooks on PYTHONPATH and HD_TEST_HOLD set
to a folder (tests/helpers.py: Hold). The first RQ job to prepare a batch writes <folder>/held (its pid,
then the batch's ids, one a line) and waits there until <folder>/release exists. It is held after the
batch was read and before anything is written: a batch's writes are one atomic script, so this is the
point where a worker's death or a Redis outage leaves the most undone. Every later batch passes.

On a Redis Cluster a batch commits in two steps (service/state/outbox.py), and HD_TEST_HOLD_AT picks the
point: `prepare` (the default, above: nothing written), `outbox` (the partition-slot script has committed,
the outbox entry is not applied yet) or `applying` (half the entry's writes applied, none deleted). `held`
then lists the ids of the batch being written.
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

    point = os.environ.get("HD_TEST_HOLD_AT", "prepare")
    if point == "prepare":
        pipeline.prepare = held_prepare
    else:
        _install_outbox(folder, point)


def _install_outbox(folder: Path, point: str) -> None:
    """Hold the first outbox entry a job applies, before it (`outbox`) or half-way through (`applying`)."""
    import msgpack
    from rq import get_current_job

    from headline_dedup import pipeline
    from headline_dedup.state import outbox

    if point not in ("outbox", "applying"):
        raise SystemExit(f"HD_TEST_HOLD_AT={point!r}: expected prepare, outbox or applying")
    apply, process_batch = outbox._apply, pipeline.process_batch
    batch: list[str] = []

    def held_process_batch(r: Any, engine: Any, ids: list[str], partition: str = "") -> int:
        batch[:] = ids
        return process_batch(r, engine, ids, partition)

    def held_apply(r: Any, packed: bytes) -> None:
        if get_current_job() is None or (folder / "held").exists():
            return apply(r, packed)
        if point == "applying":
            ops = msgpack.unpackb(packed, raw=False)
            apply(r, msgpack.packb(ops[: len(ops) // 2], use_bin_type=False))
        if _claim(folder, [_Named(hid) for hid in batch]):
            while not (folder / "release").exists():
                time.sleep(0.01)
        return apply(r, packed)  # released: the whole entry, as finish would (each write is idempotent)

    outbox._apply = held_apply
    pipeline.process_batch = held_process_batch


class _Named:
    def __init__(self, hid: str) -> None:
        self.id = hid


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
