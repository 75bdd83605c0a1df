"""`headlines ingest` with bad files: each bad line named with its number and reason, good lines kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headline_dedup.cli import app
from headline_dedup.errors import BadInputError
from headline_dedup.files import Rejected, read_headlines
from headline_dedup.store import NewHeadline, get_headline

runner = CliRunner()


def ingest(path: Path, redis_url: str):
    return runner.invoke(app, ["ingest", str(path), "--redis-url", redis_url])


def test_jsonl_bad_lines_are_named_good_ones_ingested(r, engine, redis_url, tmp_path):
    data = tmp_path / "h.jsonl"
    data.write_text('{"id": "1", "title": "Volcano erupts near Reykjavik"}\n'
                    "[1, 2]\n"
                    "42\n"
                    "\n"
                    '{"id": "2", "title": ""}\n'
                    "{broken\n"
                    + "[" * 100_000 + "\n"
                    + '{"id": "3", "title": "Flights grounded across Iceland"}\n')
    result = ingest(data, redis_url)
    assert result.exit_code == 1
    not_object = "a headline must be a JSON object"
    for line, reason in [(2, not_object), (3, not_object), (5, "title must not be empty"),
                         (6, "not JSON"), (7, "not acceptable JSON")]:
        assert f"line {line}: {reason}" in result.output
    assert "line 4" not in result.output  # blank lines are not records
    assert [x.decode() for x in r.lrange(engine.keys.ids, 0, -1)] == ["1", "3"]
    assert r.zcard(engine.keys.queued) == 2


def test_csv_unclosed_quote_is_reported_and_the_lines_after_it_kept(r, engine, redis_url, tmp_path):
    data = tmp_path / "h.csv"
    good = [f"{n},Volcano number {n} erupts near Reykjavik" for n in range(3, 51)]
    data.write_text("\n".join(['id,title', '1,Flights grounded', '2,"Unclosed quote', *good]) + "\n")
    result = ingest(data, redis_url)
    assert result.exit_code == 1
    assert "line 3: not valid CSV: a quote opened on this line is never closed" in result.output
    assert "rejected 1 bad line\n" in result.output  # not "1 bad lines"
    # Before: every line after the open quote vanished into it (or into the error), 48 good lines lost.
    assert [x.decode() for x in r.lrange(engine.keys.ids, 0, -1)] == ["1", *[str(n) for n in range(3, 51)]]


def test_csv_quoted_title_over_two_lines_is_one_record(tmp_path, settings):
    data = tmp_path / "h.csv"
    data.write_text('id,title,source\n1,"Volcano erupts\nnear Reykjavik",AP\n2,"Flights, grounded",AP\n')
    found = [(h.id, h.title) if isinstance(h, NewHeadline) else h for h in read_headlines(data, settings)]
    assert found == [("1", "Volcano erupts near Reykjavik"), ("2", "Flights, grounded")]


def test_csv_a_quote_closed_by_a_later_line_does_not_swallow_it(tmp_path, settings):
    data = tmp_path / "h.csv"
    data.write_text('id,title,source\n1,"Unclosed,AP\n2,"Quoted, title",AP\n3,Plain title,AP\n')
    found = [x.id if isinstance(x, NewHeadline) else x.line for x in read_headlines(data, settings)]
    assert found == [2, "2", "3"]  # line 2 refused, the headlines of lines 3 and 4 kept


def test_jsonl_lines_cut_short_or_not_utf8_are_named_the_rest_kept(r, engine, redis_url, tmp_path):
    data = tmp_path / "h.jsonl"
    data.write_bytes(b'{"id": "1", "title": "Volcano erupts near Reykjavik"}\n'
                     b'{"id": "2", "title": "Flights gro\n'
                     b'{"id": "3", "title": "Caf\xe9 owners protest"}\n'
                     b'{"id": "4", "title": "Ash cloud reaches Norway"}\n'
                     b'{"id": "5", "title": "Airports reo')
    result = ingest(data, redis_url)
    assert result.exit_code == 1
    for line, reason in [(2, "not JSON"), (3, "not UTF-8"), (5, "not JSON")]:
        assert f"line {line}: {reason}" in result.output
    assert [x.decode() for x in r.lrange(engine.keys.ids, 0, -1)] == ["1", "4"]


def test_csv_line_not_utf8_is_named_the_rest_kept(r, engine, redis_url, tmp_path):
    data = tmp_path / "h.csv"
    data.write_bytes(b"id,title\n1,Volcano erupts\n2,Caf\xe9 owners protest\n3,Ash cloud reaches Norway\n")
    result = ingest(data, redis_url)
    assert result.exit_code == 1 and "line 3: not UTF-8" in result.output
    assert [x.decode() for x in r.lrange(engine.keys.ids, 0, -1)] == ["1", "3"]


def test_jsonl_empty_id_is_a_bad_line_a_csv_empty_id_cell_is_no_id(tmp_path, settings):
    jsonl = tmp_path / "h.jsonl"
    jsonl.write_text('{"id": "", "title": "Volcano erupts"}\n')
    assert [x if isinstance(x, NewHeadline) else x.reason for x in read_headlines(jsonl, settings)] == [
        "id must not be empty"]
    table = tmp_path / "h.csv"
    table.write_text("id,title\n,Volcano erupts\n")
    assert [len(x.id) if isinstance(x, NewHeadline) else x for x in read_headlines(table, settings)] == [32]


def test_csv_with_a_byte_order_mark_keeps_its_ids(r, engine, redis_url, tmp_path):
    data = tmp_path / "excel.csv"
    data.write_bytes("id,title\nx1,Volcano erupts near Reykjavik\n".encode("utf-8-sig"))
    result = ingest(data, redis_url)
    assert result.exit_code == 0, result.output
    assert get_headline(r, engine, "x1")["title"] == "Volcano erupts near Reykjavik"


def test_csv_extra_cells_are_ignored_bad_rows_named(r, engine, redis_url, tmp_path):
    data = tmp_path / "h.csv"
    data.write_text("id,title,published_at,notes\n1,Good title here,2014-03-24T12:00:00Z,x\n"
                    "2,Another good one,,extra,cells\n3,!!!,,\n4,Dated,0001-01-01,\n", encoding="utf-8")
    result = ingest(data, redis_url)
    assert result.exit_code == 1
    assert "line 4: title has no words" in result.output
    assert "line 5: published_at" in result.output
    assert r.llen(engine.keys.ids) == 2


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"\n  \n\n", "is empty"),
    (b"id,headline\n1,Volcano\n", "neither JSON Lines nor CSV"),
    (b"id\ttitle\n1\tVolcano\n", "neither JSON Lines nor CSV"),
    (b'[{"title": "Volcano"}]\n', "neither JSON Lines nor CSV"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8"),
])
def test_a_file_that_is_not_csv_or_jsonl_fails_at_once(tmp_path, settings, content, message):
    data = tmp_path / "f"
    data.write_bytes(content)
    with pytest.raises(BadInputError, match=message):
        next(iter(read_headlines(data, settings)))


def test_read_headlines_gives_line_numbers_of_csv_records(tmp_path, settings):
    data = tmp_path / "h.csv"
    data.write_text('id,title\n1,"A title\nover two lines"\n2,\n')
    records = list(read_headlines(data, settings))
    assert records[0].title == "A title over two lines"  # type: ignore[union-attr]
    assert records[1] == Rejected(4, "title must not be empty")


def test_empty_file_exits_non_zero_with_a_clear_message(redis_url, tmp_path):
    data = tmp_path / "empty.csv"
    data.write_text("")
    result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", "ingest", str(data), "--redis-url", redis_url],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "is empty" in result.stderr and "Traceback" not in result.stderr
