"""The `headlines` command. Errors become clean messages here, at the edge, and nowhere else."""

from __future__ import annotations

import sys
from typing import Any

import redis
import typer
import typer.core

from headline_dedup.cli import admin, data, evaluate, read, run, tune, up
from headline_dedup.cli.common import console
from headline_dedup.errors import HeadlineError


def _no_type_beside_flags() -> None:
    """Newer typer prints a type beside every option in --help, `<bool>` for flags too (--help, --json,
    --wait), which reads as if the flag took a value. A flag shows none; options keep theirs."""
    option = getattr(typer.core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None or getattr(shown, "flags_plain", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Any:
        return None if getattr(self, "is_flag", False) and self.metavar is None else shown(self, ctx)

    display_type_rich.flags_plain = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich


_no_type_beside_flags()
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
