"""The state layer: replies by handle, scripts by SHA, records round-trip, and nobody else spells the layout."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import pytest

from headline_dedup.pipeline import process_batch
from headline_dedup.state import adminlog, events, headlines, records
from headline_dedup.state.commands import MAX_ARGS, Commands
from headline_dedup.state.records import Status
from headline_dedup.state.scripts import RUN, SUBMIT
from headline_dedup.store import get_headline, submit
from tests.helpers import BOTH, FED, headline

ROOT = Path(__file__).resolve().parent.parent


def test_a_chunked_command_answers_as_one_list_by_its_handle(r):
    fields = [f"f{i}" for i in range(2 * MAX_ARGS + 7)]  # three HMGET chunks
    r.hset("big", mapping={f: f.upper() for f in fields[::3]})
    commands = Commands()
    before = commands.call("INCRBY", "x", 1)
    many = commands.hmget("big", fields)
    none = commands.hmget("big", [])  # sends nothing, still answers
    after = commands.call("GET", "x")
    replies = commands.run(r)
    assert len(commands) == 5
    assert replies[before] == 1 and replies[after] == b"1" and replies[none] == []
    assert replies[many] == [f.upper().encode() if i % 3 == 0 else False for i, f in enumerate(fields)]


def test_scripts_are_called_by_sha_and_loaded_again_after_a_flush(r, engine):
    r.script_flush()
    assert r.script_exists(SUBMIT.sha) == [False]
    assert submit(r, engine, [headline("a", FED)]) == ["a"]
    assert r.script_exists(SUBMIT.sha) == [True]
    assert get_headline(r, engine, "a")["status"] == "queued"


def test_the_generic_script_touches_only_keys_it_declared(r):
    commands = Commands()
    commands.call("SET", "one", "1")
    commands.call("INCRBY", "two", 2)
    commands.call("APPEND", "one", "1")
    raw = commands._commands  # what travels: a key index, never the key itself
    assert [c[1] for c in raw] == [1, 2, 1]
    commands.run(r)
    assert r.mget("one", "two") == [b"11", b"2"]
    assert RUN.keys  # documented


@pytest.mark.parametrize("status", list(Status))
def test_status_bytes_round_trip(status: Status):
    assert Status.of(status.value) is status
    assert status.label in ("queued", "done", "failed")
    assert Status.of(None) is None and Status.of(b"") is None


def test_packed_values_round_trip():
    assert records.decode_exact(records.encode_exact("id-1", 1395662400.25)) == ("id-1", 1395662400.25)
    assert records.exact_owner(records.encode_exact("id-1", 5.0)) == "id-1"
    assert records.decode_postings(records.encode_postings(["3", "1", "2"]).encode()) == ["3", "1", "2"]
    fields = adminlog.encode("merge", ["1", "2"], {"a": 1})
    entry = adminlog.decode(b"1-0", {k.encode(): v.encode() for k, v in fields.items()})
    assert entry == ("1-0", "merge", ["1", "2"], {"a": 1})


# Redis hash methods -> how many arguments after the key are field names (None: all of them).
HASH_CALLS = {"hget": None, "hmget": None, "hdel": None, "hexists": None, "hset": 1, "hincrby": 1}


def _layout_literals(path: Path) -> list[str]:
    """Hash field names spelled as string literals in Redis hash calls, and key names built by hand."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in HASH_CALLS:
            count = HASH_CALLS[node.func.attr]
            args = node.args[1:] if count is None else node.args[1 : 1 + count]
            args = [e for a in args for e in (a.elts if isinstance(a, ast.List) else [a])]
            literals = [a for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            literals += [k for kw in node.keywords if kw.arg == "mapping" and isinstance(kw.value, ast.Dict)
                         for k in kw.value.keys if isinstance(k, ast.Constant)]
            found += [f"{path.name}:{n.lineno} field {n.value!r}" for n in literals]
        if isinstance(node, ast.JoinedStr):
            text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
            if any(part in text for part in (":h:", ":c:", ":m:", ":cent:", ":lsh:", ":sig:", ":terms:")):
                found.append(f"{path.name}:{node.lineno} key {text!r}")
    return found


def test_no_key_format_or_field_literal_outside_the_state_layer():
    files = [p for folder in ("service", "workers", "bench", "tests") for p in (ROOT / folder).rglob("*.py")
             if "state" not in p.relative_to(ROOT).parts and p.name != "naive.py"]  # naive: its own layout
    assert len(files) > 40
    offenders = [hit for p in files for hit in _layout_literals(p)]
    assert offenders == []


def test_the_literal_check_catches_a_field_literal(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('r.hget(keys.headline(h), "st")\nr.hset(k, mapping={"t": 1})\nf"{ns}:h:{hid}"\n'
                   'p.hmget(k, ["c", F.OK])\nr.hset(k, F.OK, "a value")\n')
    assert len(_layout_literals(bad)) == 4


@pytest.mark.parametrize("hid, cluster, dup, partition", [
    ("fed", "12", None, ""), ('a"b\\c', "7", 'q"1', "en-US"), ("é\u2028\x7f", "1", "\U0001f600", "東京")])
def test_a_placed_events_data_is_the_json_of_its_fields(hid, cluster, dup, partition):
    # placed() builds its JSON by hand for speed: it must be json.dumps' text, quotes and escapes included.
    expected = {"id": hid, "cluster_id": cluster, "duplicate_of": dup, "partition": partition}
    entry = events.placed(hid, cluster, dup, partition)
    assert entry[:3] == [events.KIND, events.PLACED, events.DATA]
    assert entry[3] == json.dumps(expected, separators=(",", ":"))
    assert json.loads(entry[3]) == expected


@BOTH
def test_placed_among_reads_the_unplaced_set_and_the_status_of_what_is_not_in_it(r, engine):
    submit(r, engine, [headline("a", FED), headline("b", "Apple unveils a larger iPhone"), headline("c", FED)])
    process_batch(r, engine, ["b"])
    keys = engine.keys.part("")
    r.zrem(keys.unplaced, "c")  # waiting, but stored before the set existed: its status tells
    assert headlines.placed_among(r, keys, ["a", "b", "c", "unknown"]) == {"b"}
    assert headlines.placed_among(r, keys, []) == set()


@BOTH
def test_rows_tell_when_each_waiting_headline_was_accepted(r, engine):
    before = time.time()
    submit(r, engine, [headline("a", FED), headline("b", "Apple unveils a larger iPhone")])
    process_batch(r, engine, ["b"])
    a, b, missing = headlines.rows(r, engine.keys, ["a", "b", "nope"], accepted=True)
    assert a is not None and a.accepted is not None and before - 1 <= a.accepted <= time.time() + 1
    assert b is not None and b.accepted is None  # placed: no longer queued
    assert missing is None
    assert headlines.rows(r, engine.keys, ["a"])[0] == a._replace(accepted=None)


def test_each_runs_one_command_per_key_in_order_among_the_others(r):
    commands = Commands()
    commands.call("SET", "each:x", "1")
    wrote = commands.each("HSET", [("each:a", ["f", "1"]), ("each:b", ["f", "2", "g", "3"]), ("each:a", ["f", "4"])])
    none = commands.each("HSET", [])  # nothing to send: no entry
    got = commands.call("HGETALL", "each:a")
    replies = commands.run(r)
    assert len(commands) == 3 and commands.keys == ["each:x", "each:a", "each:b"]
    assert replies[wrote] == [1, 2, 0] and replies[none] == []
    assert replies[got] == [b"f", b"4"]
    assert r.hgetall("each:b") == {b"f": b"2", b"g": b"3"}


@BOTH
def test_each_reads_answer_as_one_list_on_one_redis_and_across_a_clusters_slots(r, backend):
    one, two = "one", "two"  # plain test fields, not the layout's
    r.hset("each:r1", one, "1")
    r.hset("each:r2", two, "2")
    commands = Commands()
    got = commands.each("HMGET", [("each:r1", ["one", "two"]), ("each:r2", ["one", "two"]), ("each:none", ["one"])])
    after = commands.call("HGET", "each:r2", "two")
    replies = commands.run(r)
    assert [[v or None for v in row] for row in replies[got]] == [[b"1", None], [None, b"2"], [None]]
    assert replies[after] == b"2"
    if backend == "cluster":  # writes over many slots go through the outbox, never a pipeline
        writes = Commands()
        writes.each("HSET", [("each:r1", ["one", "3"]), ("each:r2", ["one", "3"])])
        with pytest.raises(RuntimeError, match="HSET"):
            writes.run(r)
