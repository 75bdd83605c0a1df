"""Searching the main thresholds on a labelled stream: coordinate ascent on B-cubed F1.

Each knob in turn is stepped up, then down, and kept moving the way that gains, until no step of any
knob gains. Every point is one full replay (`objective`), so the search is small and greedy on purpose:
a handful of knobs, one step size each, and no point scored twice.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from headline_dedup.config import Settings


@dataclass(frozen=True)
class Knob:
    name: str  # a Settings field; its Field bounds are the knob's range
    step: float


# The settings that decide stories, each with a step that moves F1 measurably on dev.csv.
KNOBS = (
    Knob("cosine_threshold", 0.02),
    Knob("small_story_penalty", 0.1),
    Knob("merge_threshold", 0.03),
    Knob("embedding_weight", 0.2),
    Knob("embedding_baseline", 0.1),
    Knob("merge_embedding_weight", 0.2),
    Knob("merge_embedding_baseline", 0.1),
)
# A step must gain this much F1 to be taken: less is noise of the data, not a better setting.
MIN_GAIN = 0.0005
_BOUNDS = (("gt", operator.gt), ("ge", operator.ge), ("lt", operator.lt), ("le", operator.le))

Values = dict[str, float]


def allowed(name: str, value: float) -> bool:
    """Whether Settings accepts `value` for `name`."""
    for bound in Settings.model_fields[name].metadata:
        for attr, holds in _BOUNDS:
            limit = getattr(bound, attr, None)
            if limit is not None and not holds(value, limit):
                return False
    return True


@dataclass
class Trial:
    values: Values
    f1: float
    changed: str  # the knob this trial moved ("" for the starting point)


OnTrial = Callable[[Trial, Trial], None]  # (this trial, the best taken so far, maybe this one)


@dataclass
class Search:
    """One search: every trial scored, and the best taken. Readable while it runs, or after it stopped."""

    objective: Callable[[Values], float]
    on_trial: OnTrial | None = None
    trials: list[Trial] = field(default_factory=list)
    best: Trial = field(init=False)  # set by the first point scored
    _scored: dict[tuple[tuple[str, float], ...], float] = field(default_factory=dict, init=False)

    def run(self, start: Values, knobs: Sequence[Knob] = KNOBS, rounds: int = 2) -> Trial:
        """Climb from `start`; `rounds` bounds the passes over all knobs, and the search stops sooner
        once a whole pass gains nothing. Returns the best trial."""
        self.take_if_better({k: round(v, 6) for k, v in start.items()}, "")
        for _ in range(rounds):
            before = self.best
            for knob in knobs:
                self._climb(knob)
            if self.best is before:
                break
        return self.best

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

    def _climb(self, knob: Knob) -> None:
        for direction in (1, -1):
            moved = False
            while True:
                value = round(self.best.values[knob.name] + direction * knob.step, 6)
                if not allowed(knob.name, value) or not self.take_if_better(
                        {**self.best.values, knob.name: value}, knob.name):
                    break
                moved = True
            if moved:
                return  # it gained going up: going down from the new point would undo that
