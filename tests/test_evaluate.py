"""`headlines evaluate`: the real queue and workers, a fresh keyspace, honest figures."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from headline_dedup.cli import app
from tests.helpers import SAMPLE

runner = CliRunner()


def test_evaluate_scores_the_sample_and_cleans_up(r, redis_url, tmp_path):
    r.set("hd:unrelated", "kept")
    result = runner.invoke(app, ["evaluate", str(SAMPLE), "--workers", "1", "--json", "--redis-url", redis_url])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output[result.output.index("{"):])
    assert figures["headlines"] == 520 and figures["n"] == 520
    assert figures["gold_clusters"] == 30
    # The sample is 30 clear stories of one day: a working pipeline separates most of them.
    assert figures["bcubed_f1"] > 0.7
    assert 0 < figures["bcubed_p"] <= 1 and 0 < figures["bcubed_r"] <= 1
    assert figures["headlines_per_second"] > 0
    assert 0 <= figures["duplicate_share"] < 0.5
    # Nothing of the evaluation is left behind; other keys are untouched.
    assert [k for k in r.scan_iter("*eval-*")] == []  # its keyspace, queue, job registries, workers
    assert [k for k in r.scan_iter("rq:job:*")] + [k for k in r.scan_iter("rq:results:*")] == []  # jobs, results
    assert r.get("hd:unrelated") == b"kept"


def test_evaluate_needs_gold_labels(redis_url, tmp_path):
    data = tmp_path / "nolabels.csv"
    data.write_text("id,title\n1,Volcano erupts\n")
    result = runner.invoke(app, ["evaluate", str(data), "--redis-url", redis_url])
    assert result.exit_code != 0
    assert "story" in str(result.exception)
