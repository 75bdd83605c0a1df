"""`headlines tune`: the coordinate search, and the command's output against real workers."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from headline_dedup.cli import app
from headline_dedup.cli.evaluate import run_evaluation
from headline_dedup.cli.tune import pick_knobs
from headline_dedup.errors import BadInputError
from headline_dedup.tuning import MIN_GAIN, Knob, Search, allowed
from tests.helpers import SAMPLE

runner = CliRunner()
# Settings lets both range over [-1, 1].
A, B = "embedding_baseline", "merge_embedding_baseline"
KNOB_A, KNOB_B = Knob(A, 0.1), Knob(B, 0.1)


def test_search_climbs_each_knob_to_the_peak_and_scores_no_point_twice():
    calls: list[tuple[float, float]] = []

    def f1(v: dict[str, float]) -> float:
        calls.append((v[A], v[B]))
        return 1 - (v[A] - 0.3) ** 2 - (v[B] + 0.2) ** 2

    search = Search(f1)
    best = search.run({A: 0.0, B: 0.0}, [KNOB_A, KNOB_B], rounds=3)
    assert best.values == pytest.approx({A: 0.3, B: -0.2})
    assert best.f1 == pytest.approx(1.0)
    assert len(calls) == len(set(calls)) == len(search.trials)
    assert search.trials[0].changed == "" and {t.changed for t in search.trials[1:]} == {A, B}


def test_search_stays_inside_what_settings_accepts():
    assert not allowed("cosine_threshold", 0.0) and allowed("cosine_threshold", 0.01)
    assert allowed(A, -1.0) and not allowed(A, -1.05)
    search = Search(lambda v: -v["cosine_threshold"])  # lower is always better, down to the bound
    best = search.run({"cosine_threshold": 0.05}, [Knob("cosine_threshold", 0.02)], rounds=2)
    assert best.values == pytest.approx({"cosine_threshold": 0.01})
    assert all(t.values["cosine_threshold"] > 0 for t in search.trials)


def test_search_ignores_gains_smaller_than_noise():
    search = Search(lambda v: 0.5 + v[A] * MIN_GAIN)
    best = search.run({A: 0.0}, [KNOB_A], rounds=3)
    assert best.values == {A: 0.0}
    assert len(search.trials) == 3  # the start, one step up, one step down; then the pass gained nothing


def test_knob_names_are_checked():
    assert [k.name for k in pick_knobs("merge_threshold, cosine_threshold,merge_threshold")] == [
        "merge_threshold", "cosine_threshold"]
    for bad in ("", "speed", "cosine_threshold,speed"):
        with pytest.raises(BadInputError, match="choose from"):
            pick_knobs(bad)


def test_overrides_reach_the_workers(redis_url):
    # With these, nothing joins a story but a copy (score < 1 after the small-story penalty) and nothing
    # merges: every headline that is not a copy opens a story of its own.
    never = {"cosine_threshold": 1.0, "embedding_weight": 0.0, "merge_threshold": 1.0, "merge_embedding_weight": 0.0}
    strict = run_evaluation(SAMPLE, 1, redis_url, overrides=never)
    copies = round(strict["duplicate_share"] * strict["headlines"])
    assert strict["pred_clusters"] == strict["headlines"] - copies > 3 * strict["gold_clusters"]


def test_tune_writes_a_config_that_scores_what_it_reports(redis_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no config.yaml here: the output holds just the tuned values
    out = tmp_path / "tuned.yaml"
    result = runner.invoke(app, ["tune", str(SAMPLE), "--knobs", "cosine_threshold", "--rounds", "1",
                                 "--workers", "1", "--out", str(out), "--json", "--redis-url", redis_url])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["trials"] >= 3 and report["best_f1"] >= report["start_f1"] > 0.7
    assert yaml.safe_load(out.read_text()) == report["best"]
    # The written file, used as the config, gives the F1 the search reported for it.
    monkeypatch.setenv("HEADLINES_CONFIG", str(out))
    check = runner.invoke(app, ["evaluate", str(SAMPLE), "--workers", "1", "--json", "--redis-url", redis_url])
    assert check.exit_code == 0, check.output
    assert json.loads(check.output[check.output.index("{"):])["bcubed_f1"] == pytest.approx(report["best_f1"])


def test_tune_refuses_to_overwrite_or_write_nowhere(redis_url, tmp_path):
    out = tmp_path / "tuned.yaml"
    out.write_text("kept: 1\n")
    result = runner.invoke(app, ["tune", str(SAMPLE), "--out", str(out), "--redis-url", redis_url])
    assert result.exit_code != 0 and "--force" in str(result.exception)
    assert out.read_text() == "kept: 1\n"
    result = runner.invoke(app, ["tune", str(SAMPLE), "--out", str(tmp_path / "no" / "t.yaml"),
                                 "--redis-url", redis_url])
    assert result.exit_code != 0 and "not a folder" in str(result.exception)
