"""The `headlines` command as an operator runs it against a real 3-node Redis Cluster, queue on a plain Redis.

Ingest, real worker processes, then every read of the CLI (export, lookup, show, clusters, stats) and the
admin actions (merge, label, split, undo, history), each in a process of its own. The in-process routes run
on both backends in test_api, test_pipeline, test_admin, test_partitions and test_metrics (helpers.BOTH).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from headline_dedup.store import export_rows, get_headline
from tests.helpers import FED, SAMPLE, load_sample, run_workers

pytestmark = pytest.mark.parametrize("backend", ["cluster"], indirect=True)


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """A `headlines` command in a child, with the cluster settings of the environment (conftest `settings`)."""
    result = subprocess.run([sys.executable, "-m", "headline_dedup.cli", *args], env=dict(os.environ),
                            capture_output=True, text=True, timeout=300)
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> dict:
    return dict(json.loads(result.stdout[result.stdout.index("{"):]))


def test_cli_reads_and_admin_on_a_cluster(r, engine, settings, state_url, tmp_path):
    assert os.environ["HEADLINES_REDIS_CLUSTER"] == "true" and os.environ["HEADLINES_QUEUE_URL"] != state_url
    run("ingest", str(SAMPLE))
    run_workers(state_url, 2)
    rows = load_sample(SAMPLE)

    out = tmp_path / "out.jsonl"
    run("export", "-o", str(out))
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(row["id"] for row in exported) == sorted(row["id"] for row in rows)
    assert all(row["cluster_id"] for row in exported)
    # the CLI reads what the library reads, in the same (arrival) order
    assert [(row["id"], row["cluster_id"]) for row in exported] == [row[:2] for row in export_rows(r, engine)]
    table = list(csv.DictReader(io.StringIO(run("export", "--format", "csv", "--fields", "id,title,status").stdout)))
    assert len(table) == len(rows) and {row["status"] for row in table} == {"done"}

    stats = as_json(run("stats", "--json"))
    assert stats["headlines"] == len(rows) and stats["clusters"] == len({row["cluster_id"] for row in exported})

    first = get_headline(r, engine, exported[0]["id"])
    found = json.loads(run("lookup", first["title"], "--json", "--published-at", first["published_at"]).stdout)
    assert found["cluster_id"] == first["cluster_id"]
    assert first["id"] in run("show", first["cluster_id"]).stdout
    listed = as_json(run("clusters", "--top", "100000", "--json"))["clusters"]
    assert {row["cluster_id"] for row in listed} == {row["cluster_id"] for row in exported}

    target, source = first["cluster_id"], next(row["cluster_id"] for row in exported
                                                 if row["cluster_id"] != first["cluster_id"])
    sizes = {cid: sum(row["cluster_id"] == cid for row in exported) for cid in (target, source)}
    run("merge", target, source)
    merged = {json.loads(line)["cluster_id"] for line in run("export").stdout.splitlines()
              if json.loads(line)["id"] in {row["id"] for row in exported if row["cluster_id"] in sizes}}
    assert merged == {target}
    run("label", target, "Fed and more")
    assert "Fed and more" in run("show", target).stdout
    history = run("history").stdout
    assert "merge" in history and "label" in history
    run("undo", _last_action(run("history", "--json").stdout, "label"))
    run("undo", _last_action(run("history", "--json").stdout, "merge"))
    back = {json.loads(line)["id"]: json.loads(line)["cluster_id"] for line in run("export").stdout.splitlines()}
    assert {row["id"]: back[row["id"]] for row in exported if row["cluster_id"] in sizes} == {
        row["id"]: row["cluster_id"] for row in exported if row["cluster_id"] in sizes}

    refused = run("merge", target, "no-such-story", ok=False)
    assert "no-such-story" in refused.stderr + refused.stdout and "Traceback" not in refused.stderr


def _last_action(printed: str, kind: str) -> str:
    actions = json.loads(printed[printed.index("{"):])["actions"]
    return str(next(a["id"] for a in actions if a["kind"] == kind))


def test_an_admin_command_across_partitions_is_refused_with_a_message(r, engine, state_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HEADLINES_PARTITION_BY", "field")
    feed = tmp_path / "feed.csv"
    feed.write_text(f'id,title,partition\na,"{FED}",desk\nb,"{FED} - Reuters",other\n')
    run("ingest", str(feed))
    run_workers(state_url, 1)
    by_id = {json.loads(line)["id"]: json.loads(line)["cluster_id"] for line in run("export").stdout.splitlines()}
    assert by_id["a"] != by_id["b"]  # the same story, two partitions: two stories
    refused = run("merge", by_id["a"], by_id["b"], ok=False)
    said = refused.stdout + refused.stderr
    assert "cannot cross partitions" in said and "desk" in said and "other" in said and "Traceback" not in said
    assert {json.loads(line)["cluster_id"] for line in run("export").stdout.splitlines()} == set(by_id.values())
