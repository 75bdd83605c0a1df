"""`headlines janitor`: headlines whose job was lost are enqueued again."""

from __future__ import annotations

import time

from typer.testing import CliRunner

from headline_dedup.cli import app
from headline_dedup.queue import get_queue
from headline_dedup.state.records import Status
from headline_dedup.store import statuses, submit
from tests.helpers import FED, drain, headline

runner = CliRunner()


def test_janitor_requeues_headlines_whose_job_was_lost(r, engine, redis_url):
    submit(r, engine, [headline("lost", FED), headline("fresh", FED + " again")])
    # "lost" was stored long ago and its job never ran; "fresh" is still within requeue_after.
    r.zadd(engine.keys.queued, {"lost": time.time() - engine.settings.requeue_after - 5})
    result = runner.invoke(app, ["janitor", "--once", "--redis-url", redis_url])
    assert result.exit_code == 0, result.output
    assert "re-enqueued 1 " in result.output
    assert len(get_queue(r, engine)) == 1
    drain(r, engine)
    assert statuses(r, engine, ["lost", "fresh"]) == [Status.DONE, Status.QUEUED]
