"""Searching the main thresholds on a labelled stream: coordinate ascent on B-cubed F1.

Each knob in turn is stepped up, then down, and kept moving the way that gains, until no step of any
knob gains. Every point is one full replay (`objective`), so the search is small and greedy on purpose:
a handful of knobs, one step size each, and no point scored twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Knob:
    name: str
    step: float
    low: float
    high: float


# The settings that decide stories, with a step that moves F1 measurably on dev.csv and the range
# Settings accepts (merge_threshold must stay above 0).
KNOBS = (
    Knob("cosine_threshold", 0.02, 0.0, 1.0),
    Knob("small_story_penalty", 0.1, 0.0, 1.0),
    Knob("merge_threshold", 0.03, 0.01, 1.0),
    Knob("embedding_weight", 0.2, 0.0, 2.0),
    Knob("embedding_baseline", 0.1, -1.0, 1.0),
    Knob("merge_embedding_weight", 0.2, 0.0, 2.0),
    Knob("merge_embedding_baseline", 0.1, -1.0, 1.0),
)
# A step must gain this much F1 to be taken: less is noise of the data, not a better setting.
MIN_GAIN = 0.0005

Values = dict[str, float]
OnTrial = Callable[["Trial", "Trial"], None]  # (this trial, the best so far)


@dataclass
class Trial:
    values: Values
    f1: float
    changed: str  # the knob this trial moved ("" for the starting point)


@dataclass
class Search:
    objective: Callable[[Values], float]
    on_trial: OnTrial | None = None
    trials: list[Trial] = field(default_factory=list)
    _scored: dict[tuple[tuple[str, float], ...], float] = field(default_factory=dict)

    def score(self, values: Values, changed: str) -> float:
        key = tuple(sorted(values.items()))
        if key not in self._scored:
            self._scored[key] = self.objective(values)
            trial = Trial(dict(values), self._scored[key], changed)
            self.trials.append(trial)
            if self.on_trial:
                self.on_trial(trial, max(self.trials, key=lambda t: t.f1))
        return self._scored[key]


def search(start: Values, objective: Callable[[Values], float], knobs: Sequence[Knob] = KNOBS,
           rounds: int = 2, on_trial: OnTrial | None = None) -> tuple[Values, float, list[Trial]]:
    """The best values found and their F1, and every trial in order. `rounds` bounds the passes over
    all knobs; the search stops sooner once a whole pass gains nothing."""
    run = Search(objective, on_trial)
    best, best_f1 = dict(start), run.score(start, "")
    for _ in range(rounds):
        before = best_f1
        for knob in knobs:
            best, best_f1 = _climb(run, knob, best, best_f1)
        if best_f1 < before + MIN_GAIN:
            break
    return best, best_f1, run.trials


def _climb(run: Search, knob: Knob, best: Values, best_f1: float) -> tuple[Values, float]:
    for direction in (1, -1):
        moved = False
        while True:
            value = round(best[knob.name] + direction * knob.step, 6)
            if not knob.low <= value <= knob.high:
                break
            candidate = {**best, knob.name: value}
            f1 = run.score(candidate, knob.name)
            if f1 < best_f1 + MIN_GAIN:
                break
            best, best_f1, moved = candidate, f1, True
        if moved:
            break  # it gained going up: going down from the new point would undo that
    return best, best_f1
