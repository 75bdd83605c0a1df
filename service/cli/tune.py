"""`headlines tune`: search the story thresholds on a labelled stream and write the best into a config file.

Every trial is a full evaluation (service/cli/evaluate.py: the real queue, real workers started with the
trial's settings, a fresh keyspace), all in one Redis, so the figures are the ones production would give.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from headline_dedup.cli.common import RedisUrl, console, out
from headline_dedup.cli.evaluate import evaluation_url, read_gold, run_evaluation
from headline_dedup.config import build_settings, env_name, file_values
from headline_dedup.errors import BadInputError
from headline_dedup.tuning import KNOBS, Knob, Search, Trial, Values


def pick_knobs(names: str | None) -> list[Knob]:
    if names is None:
        return list(KNOBS)
    known = {k.name: k for k in KNOBS}
    wanted = list(dict.fromkeys(n.strip() for n in names.split(",") if n.strip()))
    unknown = [n for n in wanted if n not in known]
    if unknown or not wanted:
        raise BadInputError(f"unknown knob(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(known)}")
    return [known[n] for n in wanted]


def check_output(output: Path, force: bool) -> None:
    if output.exists() and not force:
        raise BadInputError(f"{output} exists; pass --force to overwrite it")
    if not output.parent.is_dir():
        raise BadInputError(f"cannot write {output}: {output.parent} is not a folder")


def _warn_env(knobs: list[Knob]) -> None:
    # The environment wins over any config file: a knob set there would hide the tuned value.
    shadowing = [env_name(k.name) for k in knobs if env_name(k.name) in os.environ]
    if shadowing:
        console.print(f"[yellow]{', '.join(shadowing)} set in the environment: the search starts from it, but "
                      "unset it before using the tuned file, or it overrides the tuned value[/]")


def _report(trial: Trial, best: Trial) -> None:
    moved = f"{trial.changed}={trial.values[trial.changed]:g}" if trial.changed else "starting values"
    console.print(f"trial: {moved}: F1 {trial.f1:.4f} (best {best.f1:.4f})")


def write_config(path: Path, best: Values, note: str) -> None:
    """The config in use, with the tuned values in place, under a comment saying where they came from."""
    values = {**file_values(), **{k: round(v, 6) for k, v in best.items()}}
    path.write_text(f"# {note}\n# Use it with HEADLINES_CONFIG={path} (or copy the values into config.yaml).\n"
                    + yaml.safe_dump(values, sort_keys=False), encoding="utf-8")


def tune(
    file: Annotated[Path, typer.Argument(help="Labelled CSV: id,title,source,published_at,story.",
                                         exists=True, dir_okay=False, readable=True)],
    output: Annotated[Path, typer.Option("--out", "-o", help="Config file to write.")] = Path("config.tuned.yaml"),
    workers: Annotated[int, typer.Option(help="Worker processes per trial.", min=1, max=32)] = 2,
    rounds: Annotated[int, typer.Option(help="Most passes over the knobs.", min=1, max=10)] = 2,
    knobs: Annotated[str | None, typer.Option(help="Comma-separated settings to search (default: all).",
                                              show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    redis_url: RedisUrl = None,
) -> None:
    """Search the story thresholds on a labelled stream and write the best into a config file.

    Coordinate ascent on B-cubed F1: each knob is stepped up, then down, while a step gains; every
    trial is a full evaluation through the real queue and workers. The output is the config in use with
    the best values in place. Tune on one stream and check on another: the best values for one
    fortnight of news are not always the best for the next.
    """
    chosen = pick_knobs(knobs)
    check_output(output, force)
    read_gold(file)  # a file without labels fails now, not after the first trial
    _warn_env(chosen)
    settings = build_settings({"redis_url": redis_url})
    began = time.monotonic()
    with ExitStack() as stack:
        url = evaluation_url(redis_url, stack)

        def f1_of(values: Values) -> float:
            return float(run_evaluation(file, workers, url, overrides=values)["bcubed_f1"])

        search = Search(f1_of, _report)
        try:
            search.run({k.name: float(getattr(settings, k.name)) for k in chosen}, chosen, rounds)
        except BaseException:
            _keep_so_far(output, file, search)
            raise
    _write(output, file, search, "")
    _show(search, time.monotonic() - began, output, as_json)


def _keep_so_far(output: Path, file: Path, search: Search) -> None:
    """A search that stopped (Ctrl-C, a trial that failed) still leaves what its trials found."""
    if search.trials:
        _write(output, file, search, "stopped early, ")
        console.print(f"[yellow]stopped: wrote the best of {len(search.trials)} trials to {output}[/]")


def _write(output: Path, file: Path, search: Search, how: str) -> None:
    best, first = search.best, search.trials[0]
    write_config(output, best.values, f"Written by `headlines tune {file.name}` ({how}{len(search.trials)} trials): "
                                      f"B-cubed F1 {first.f1:.4f} with the values before, {best.f1:.4f} with these.")


def _show(search: Search, seconds: float, output: Path, as_json: bool) -> None:
    start, best, trials = search.trials[0], search.best, len(search.trials)
    if as_json:
        out.print_json(json.dumps({"start": start.values, "start_f1": start.f1, "best": best.values,
                                   "best_f1": best.f1, "trials": trials, "seconds": round(seconds, 1),
                                   "out": str(output)}))
        return
    table = Table("setting", "before", "after", title=f"{trials} trials in {seconds:.0f}s")
    for name, value in start.values.items():
        table.add_row(name, f"{value:g}", f"{best.values[name]:g}")
    table.add_row("B-cubed F1", f"{start.f1:.4f}", f"{best.f1:.4f}")
    out.print(table)
    console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.command()(tune)
