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


def test_evaluate_live_places_each_chunk_before_sending_the_next(redis_url, tmp_path):
    # A copy of day 1's headline sent after days 2 to 4's news: queued in bulk it is placed beside its
    # original (nothing closes before the whole file is read); sent live, day 1 has closed when it comes.
    data = tmp_path / "late.csv"
    data.write_text("id,title,source,published_at,story\n"
                    "1,Volcano erupts in Iceland grounding flights,,2014-03-01T10:00:00Z,a\n"
                    "2,Central bank holds rates at record low,,2014-03-02T10:00:00Z,b\n"
                    "4,Tennis champion retires after knee surgery,,2014-03-03T10:00:00Z,c\n"
                    "5,Smartphone maker unveils folding screen,,2014-03-04T10:00:00Z,d\n"
                    "3,Volcano erupts in Iceland grounding flights,,2014-03-01T11:00:00Z,a\n")
    figures = {}
    for mode in ([], ["--live", "1"]):
        result = runner.invoke(app, ["evaluate", str(data), "--workers", "1", "--json", "--redis-url", redis_url,
                                     *mode])
        assert result.exit_code == 0, result.output
        figures[bool(mode)] = json.loads(result.output[result.output.index("{"):])
    assert figures[False]["bcubed_f1"] == 1.0 and figures[False]["live"] is None
    assert figures[True]["pred_clusters"] == 5 and figures[True]["live"] == 1
