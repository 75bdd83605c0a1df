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


@dataclass
class Trial:
    values: Values
    f1: float
    changed: str  # the knob this trial moved ("" for the starting point)


OnTrial = Callable[[Trial, Trial], None]  # (this trial, the best taken so far, maybe this one)


@dataclass
class Search:
    objective: Callable[[Values], float]
    on_trial: OnTrial | None = None
    trials: list[Trial] = field(default_factory=list)
    best: Trial = field(init=False)  # set by the first point scored
    _scored: dict[tuple[tuple[str, float], ...], float] = field(default_factory=dict)

    def take_if_better(self, values: Values, changed: str) -> bool:
        """Score `values` (once: a point seen before is not replayed); make it the best when it gains."""
        key = tuple(sorted(values.items()))
        fresh = key not in self._scored
        trial = Trial(dict(values), self.objective(values) if fresh else self._scored[key], changed)
        taken = not self._scored or trial.f1 >= self.best.f1 + MIN_GAIN
        if taken:
            self.best = trial
        if fresh:
            self._scored[key] = trial.f1
            self.trials.append(trial)
            if self.on_trial:
                self.on_trial(trial, self.best)
        return taken


def search(start: Values, objective: Callable[[Values], float], knobs: Sequence[Knob] = KNOBS,
           rounds: int = 2, on_trial: OnTrial | None = None) -> tuple[Trial, list[Trial]]:
    """The best trial and every trial in order. `rounds` bounds the passes over all knobs; the search
    stops sooner once a whole pass gains nothing."""
    run = Search(objective, on_trial)
    run.take_if_better(start, "")
    for _ in range(rounds):
        before = run.best
        for knob in knobs:
            _climb(run, knob)
        if run.best is before:
            break
    return run.best, run.trials


def _climb(run: Search, knob: Knob) -> None:
    for direction in (1, -1):
        moved = False
        while True:
            value = round(run.best.values[knob.name] + direction * knob.step, 6)
            if not knob.low <= value <= knob.high or not run.take_if_better(
                    {**run.best.values, knob.name: value}, knob.name):
                break
            moved = True
        if moved:
            return  # it gained going up: going down from the new point would undo that
