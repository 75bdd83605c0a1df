"""`headlines tune`: the coordinate search, and the command's output against real workers."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from service.cli import app
from service.tuning import MIN_GAIN, Knob, search
from tests.conftest import SAMPLE

runner = CliRunner()
X, Y = Knob("x", 0.1, -1.0, 1.0), Knob("y", 0.1, -1.0, 1.0)


def test_search_climbs_each_knob_to_the_peak_and_scores_no_point_twice():
    calls: list[tuple[float, float]] = []

    def f1(v: dict[str, float]) -> float:
        calls.append((v["x"], v["y"]))
        return 1 - (v["x"] - 0.3) ** 2 - (v["y"] + 0.2) ** 2

    best, trials = search({"x": 0.0, "y": 0.0}, f1, [X, Y], rounds=3)
    assert best.values == pytest.approx({"x": 0.3, "y": -0.2})
    assert best.f1 == pytest.approx(1.0)
    assert len(calls) == len(set(calls)) == len(trials)
    assert trials[0].changed == "" and {t.changed for t in trials[1:]} == {"x", "y"}


def test_search_stays_inside_a_knobs_range():
    best, trials = search({"x": 0.0}, lambda v: v["x"], [Knob("x", 0.1, 0.0, 0.35)], rounds=2)
    assert best.values == pytest.approx({"x": 0.3})
    assert all(0.0 <= t.values["x"] <= 0.35 for t in trials)


def test_search_ignores_gains_smaller_than_noise():
    best, trials = search({"x": 0.0}, lambda v: 0.5 + v["x"] * MIN_GAIN, [X], rounds=3)
    assert best.values == {"x": 0.0}
    assert len(trials) == 3  # the start, one step up, one step down; then the pass gained nothing


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


def test_tune_refuses_to_overwrite_and_names_unknown_knobs(redis_url, tmp_path):
    out = tmp_path / "tuned.yaml"
    out.write_text("kept: 1\n")
    result = runner.invoke(app, ["tune", str(SAMPLE), "--out", str(out), "--redis-url", redis_url])
    assert result.exit_code != 0 and "--force" in str(result.exception)
    assert out.read_text() == "kept: 1\n"
    result = runner.invoke(app, ["tune", str(SAMPLE), "--knobs", "cosine_threshold,speed", "--force",
                                 "--out", str(out), "--redis-url", redis_url])
    assert result.exit_code != 0 and "speed" in str(result.exception)
