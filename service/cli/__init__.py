"""The `headlines` command. Errors become clean messages here, at the edge, and nowhere else."""

from __future__ import annotations

import sys

import redis
import typer

from headline_dedup.cli import admin, data, evaluate, read, run, tune, up
from headline_dedup.cli.common import console
from headline_dedup.errors import HeadlineError

app = typer.Typer(
    name="headlines",
    help="headline-dedup: news headlines in, stories out. Run `headlines up` to start everything.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (up, run, data, read, admin, evaluate, tune):
    module.register(app)


def main() -> None:
    try:
        app()
    except HeadlineError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    except redis.ConnectionError as exc:
        console.print(f"[red]error:[/red] cannot reach Redis ({exc}). Is `headlines up` running, "
                      "or REDIS_URL set?")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
