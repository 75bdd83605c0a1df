"""RQ job functions. Thin: they find the engine for the job's namespace and call service.pipeline."""

from __future__ import annotations

from rq import get_current_job

from service.config import get_settings
from service.engine import engine_for
from service.pipeline import process_batch as place_batch


def process_batch(namespace: str, ids: list[str]) -> int:
    """Place a batch of stored headlines in stories; returns how many were placed by this run."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("process_batch runs inside an RQ worker")
    settings = get_settings().model_copy(update={"namespace": namespace})
    return place_batch(job.connection, engine_for(settings), ids)
