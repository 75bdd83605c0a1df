"""The `headlines` command: help everywhere, ingest/export/lookup/show against a real Redis."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from headline_dedup.cli import app
from headline_dedup.store import get_headline
from tests.helpers import ROOT, SAMPLE, drain

runner = CliRunner()
README = ROOT / "README.md"


def command_names() -> list[str]:
    names = []
    for command in app.registered_commands:
        assert command.callback is not None, command
        names.append(command.name or command.callback.__name__.replace("_", "-"))
    return sorted(names)


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help_and_is_in_the_readme(name):
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    assert command.help and len(command.help) > 10
    assert f"headlines {name}" in README.read_text()


def test_top_level_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in command_names():
        assert name in result.output


def test_ingest_export_lookup_show(r, engine, redis_url, tmp_path):
    result = runner.invoke(app, ["ingest", str(SAMPLE), "--redis-url", redis_url])
    assert result.exit_code == 0, result.output
    drain(r, engine)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["export", "--redis-url", redis_url, "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 520
    assert all(row["cluster_id"] for row in rows)
    first = get_headline(r, engine, rows[0]["id"])

    result = runner.invoke(app, ["export", "--format", "csv", "--redis-url", redis_url])
    assert result.output.splitlines()[0] == "id,cluster_id,duplicate_of"
    assert len(result.output.splitlines()) == 521

    result = runner.invoke(app, ["lookup", first["title"], "--json", "--published-at", first["published_at"],
                                 "--redis-url", redis_url])
    assert json.loads(result.output)["cluster_id"] == first["cluster_id"]
    result = runner.invoke(app, ["show", first["cluster_id"], "--redis-url", redis_url])
    assert result.exit_code == 0 and first["id"] in result.output


def test_ingest_wait_returns_when_placed(r, engine, redis_url, tmp_path):
    data = tmp_path / "h.jsonl"
    data.write_text('{"id": "1", "title": "Volcano erupts near Reykjavik"}\n'
                    '{"id": "2", "title": "Volcano erupts near Reykjavik, flights grounded"}\n')
    worker = subprocess.Popen([sys.executable, "-m", "headline_dedup.workers"], env={**__import__("os").environ,
                                                                     "REDIS_URL": redis_url})
    try:
        result = runner.invoke(app, ["ingest", str(data), "--wait", "--redis-url", redis_url])
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert result.exit_code == 0, result.output
    assert get_headline(r, engine, "2")["status"] == "done"


def test_bad_lines_are_reported_good_ones_ingested(r, engine, redis_url, tmp_path):
    data = tmp_path / "h.csv"
    data.write_text("id,title,published_at\n1,Good title,2014-03-24T12:00:00Z\n2,,2014-03-24\n3,Other,soon\n")
    result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", "ingest", str(data), "--redis-url", redis_url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "line 3" in result.stderr and "title" in result.stderr
    assert "line 4" in result.stderr and "ISO 8601" in result.stderr
    assert r.llen(engine.keys.ids) == 1


def test_a_file_that_is_not_headlines_fails_at_once(redis_url, tmp_path):
    data = tmp_path / "x.bin"
    data.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", "ingest", str(data), "--redis-url", redis_url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "CSV or JSON Lines" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_cluster_is_a_clean_error(redis_url):
    result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", "show", "nope", "--redis-url", redis_url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no cluster with id 'nope'" in result.stderr
