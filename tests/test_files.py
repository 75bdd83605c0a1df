"""Files in and out (issue 14): `export --fields`, `ingest -` from standard input, .gz files read as such."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from headline_dedup.cli.evaluate import read_gold
from headline_dedup.files import read_headlines
from headline_dedup.store import EXPORT_FIELDS
from tests.helpers import DAY, FED, SAMPLE, UNRELATED, cli, headline, load_sample, place


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headline_dedup.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(redis_url: str, r) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("HEADLINES_")}, "REDIS_URL": redis_url}


def test_export_fields_gives_the_named_fields_in_order(env, r, engine):
    placed = place(r, engine, [headline("fed", FED, DAY, source="WSJ"),
                               headline("copy", FED.lower() + " - Reuters", DAY + 60),
                               headline("other", UNRELATED[0], DAY + 120)])
    story = placed[0]["cluster_id"]
    cli(env, "label", story, "The Fed story")
    fields = "title,id,label,source,published_at,cluster_id,duplicate_of"
    lines = run(env, "export", "--fields", fields).stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [list(row) for row in rows] == [fields.split(",")] * 3
    assert rows[0] == {"title": FED, "id": "fed", "label": "The Fed story", "source": "WSJ",
                       "published_at": "2014-03-24T12:00:00Z", "cluster_id": story, "duplicate_of": None}
    assert (rows[1]["label"], rows[1]["duplicate_of"], rows[1]["source"]) == ("The Fed story", "fed", None)
    assert rows[2]["label"] is None and rows[2]["cluster_id"] != story
    table = list(csv.reader(io.StringIO(run(env, "export", "--format", "csv", "--fields", "id,label,status").stdout)))
    assert table == [["id", "label", "status"], ["fed", "The Fed story", "done"], ["copy", "The Fed story", "done"],
                     ["other", "", "done"]]
    # Without --fields, the three columns export always gave.
    assert json.loads(run(env, "export").stdout.splitlines()[1]) == {"id": "copy", "cluster_id": story,
                                                                      "duplicate_of": "fed"}


@pytest.mark.parametrize("fields", ["id,headline", "", "id,id", "title,,nope"])
def test_export_with_a_bad_field_says_which_fields_are_valid(env, fields):
    result = run(env, "export", "--fields", fields)
    assert result.returncode == 1
    assert "--fields" in result.stderr and "Traceback" not in result.stderr
    if fields != "id,id":
        assert f"valid fields: {','.join(EXPORT_FIELDS)}" in result.stderr


def _stored_ids(r, engine) -> list[str]:
    return [x.decode() for x in r.lrange(engine.keys.ids, 0, -1)]


def test_ingest_dash_reads_csv_or_json_lines_from_standard_input(env, r, engine):
    csv_text = f"id,title,published_at\ns1,{UNRELATED[0]},2014-03-24T12:00:00Z\ns2,{UNRELATED[1]},\n"
    result = run(env, "ingest", "-", stdin=csv_text)
    assert result.returncode == 0, result.stderr
    assert "queued 2 new headlines" in result.stderr
    jsonl = "\n".join(json.dumps({"id": f"j{i}", "title": t}) for i, t in enumerate(UNRELATED[2:])) + "\n"
    assert run(env, "ingest", "-", "--format", "jsonl", stdin=jsonl).returncode == 0
    assert _stored_ids(r, engine) == ["s1", "s2", "j0", "j1"]
    forced = run(env, "ingest", "-", "--format", "csv", stdin=jsonl)  # JSON read as CSV: no title column
    assert forced.returncode == 1 and "Traceback" not in forced.stderr
    empty = run(env, "ingest", "-", stdin="")
    assert empty.returncode == 1 and "empty" in empty.stderr


def test_gz_files_are_read_as_such(env, r, engine, tmp_path: Path):
    packed = tmp_path / "sample.csv.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    result = run(env, "ingest", str(packed))
    assert result.returncode == 0, result.stderr
    assert _stored_ids(r, engine) == [row["id"] for row in load_sample(SAMPLE)]
    lines = tmp_path / "few.jsonl.gz"
    lines.write_bytes(gzip.compress(b'{"id": "g1", "title": "Gzip works for JSON Lines too"}\n'))
    assert [h.id for h in read_headlines(lines, engine.settings)] == ["g1"]  # type: ignore[union-attr]
    gold = tmp_path / "gold.csv.gz"
    gold.write_bytes(gzip.compress(b"id,title,source,published_at,story\na,x,,2014-03-24,s1\nb,y,,2014-03-24,s1\n"))
    assert read_gold(gold) == {"a": "s1", "b": "s1"}


def test_a_broken_gz_file_is_a_clear_error(env, tmp_path: Path):
    broken = tmp_path / "cut.csv.gz"
    broken.write_bytes(gzip.compress(SAMPLE.read_bytes())[:200])
    not_gzip = tmp_path / "plain.csv.gz"
    not_gzip.write_text("id,title\na,b\n")
    for path in (broken, not_gzip):
        result = run(env, "ingest", str(path))
        assert result.returncode == 1 and "gzip" in result.stderr and "Traceback" not in result.stderr, result.stderr
    missing = run(env, "ingest", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
