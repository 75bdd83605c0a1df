"""The read routes added for the client: GET /clusters (the story list), GET /stats, GET /headlines/{id}?wait=.

In-process app (TestClient) on the real test Redis; `?wait` is answered by a real worker process.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from headline_dedup import procs
from headline_dedup.api.app import create_app
from tests.helpers import BOTH, DAY, FED, UNRELATED, cli, headline, place

pytestmark = BOTH  # on one Redis and on a 3-node Redis Cluster; the settings fixture sets REDIS_URL (and the
# cluster's queue_url) in the environment the CLI and worker children read

HOUR = 3600.0


@pytest.fixture
def client(settings, r, engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, r)) as c:
        yield c


@pytest.fixture
def stories(r, engine) -> dict[str, str]:
    """One story of three headlines (FED and two copies), and four of one each, an hour apart after it."""
    copies = [headline("fed", FED, DAY), headline("fed2", FED.lower() + " - Reuters", DAY + 60),
              headline("fed3", FED + " (update)", DAY + 120)]
    singles = [headline(f"u{i}", title, DAY + (i + 1) * HOUR) for i, title in enumerate(UNRELATED)]
    placed = place(r, engine, copies + singles)
    return {h["id"]: h["cluster_id"] for h in placed}


def test_clusters_by_size_lists_the_largest_first(client, stories):
    body = client.get("/clusters", params={"order": "size"}).json()
    assert body["total"] == 5 and (body["order"], body["limit"], body["offset"]) == ("size", 20, 0)
    rows = body["clusters"]
    assert rows[0]["cluster_id"] == stories["fed"] and rows[0]["size"] == 3
    assert [row["size"] for row in rows] == [3, 1, 1, 1, 1]
    assert set(rows[0]) == {"cluster_id", "size", "title", "first_seen", "last_seen"}
    assert rows[0]["title"] == FED and rows[0]["first_seen"] == "2014-03-24T12:00:00Z"


def test_clusters_by_recent_lists_the_last_seen_first_and_pages(client, stories):
    rows = client.get("/clusters", params={"order": "recent"}).json()["clusters"]
    newest_first = [stories[f"u{i}"] for i in reversed(range(len(UNRELATED)))] + [stories["fed"]]
    assert [row["cluster_id"] for row in rows] == newest_first
    assert client.get("/clusters").json()["clusters"] == rows  # recent is the default
    for order in ("recent", "size"):
        whole = client.get("/clusters", params={"order": order}).json()["clusters"]
        pages = [client.get("/clusters", params={"order": order, "limit": 2, "offset": o}).json()
                 for o in (0, 2, 4)]
        assert [row for page in pages for row in page["clusters"]] == whole
        assert [len(page["clusters"]) for page in pages] == [2, 2, 1] and pages[2]["total"] == 5


def test_clusters_since_keeps_the_stories_seen_at_or_after_it(client, stories):
    body = client.get("/clusters", params={"since": "2014-03-24T14:00:00Z", "order": "size"}).json()
    assert {row["cluster_id"] for row in body["clusters"]} == {stories["u1"], stories["u2"], stories["u3"]}
    assert body["total"] == 3


@pytest.mark.parametrize(("query", "reason"), [
    ({"order": "biggest"}, "order"), ({"since": "yesterday"}, "since"), ({"since": ""}, "since"),
    ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "x"}, "limit"),
    ({"offset": "-1"}, "offset"), ({"offset": "9223372036854775807"}, "offset"),
])
def test_bad_story_list_parameters_are_a_422_naming_the_parameter(client, query, reason):
    answer = client.get("/clusters", params=query)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]


def test_stats_over_http_are_the_figures_of_the_cli(client, stories, settings):
    over_http = client.get("/stats").json()
    printed = cli(dict(os.environ), "stats", "--json").stdout
    from_cli = json.loads(printed[printed.index("{"):])
    from_cli.pop("redis")
    assert set(over_http) == set(from_cli)
    # Redis's memory moves between two reads; every count must be the same.
    for moving in ("redis_memory", "redis_memory_bytes"):
        assert over_http.pop(moving) and from_cli.pop(moving)
    assert over_http == from_cli
    assert (over_http["headlines"], over_http["clusters"], over_http["duplicates"]) == (7, 5, 2)


def test_wait_answers_once_a_worker_has_placed_the_headline(client, settings):
    assert client.post("/headlines", json={"id": "w", "title": FED}).status_code == 202
    answers: list = []
    reader = threading.Thread(target=lambda: answers.append(client.get("/headlines/w", params={"wait": 30})))
    reader.start()
    # The worker starts only once the GET is out, and takes about a second to be ready: a GET that did not
    # wait would see `queued`. (Started here, not in the thread: a child dies with the thread that made it.)
    reader.join(0.2)
    worker = procs.python("headline_dedup.workers", env=dict(os.environ))
    try:
        reader.join(60)
    finally:
        procs.stop(worker)
    (answer,) = answers
    assert answer.status_code == 200
    assert answer.json()["status"] == "done" and answer.json()["cluster_id"]


def test_wait_with_no_worker_answers_what_there_is_after_the_time(client):
    client.post("/headlines", json={"id": "q", "title": FED})
    answer = client.get("/headlines/q", params={"wait": 0.3})
    assert answer.status_code == 200 and answer.json()["status"] == "queued"
    assert client.get("/headlines/nope", params={"wait": 5}).status_code == 404


@pytest.mark.parametrize("wait", ["-1", "31", "nan", "inf", "soon"])
def test_a_wait_out_of_bounds_is_a_422(client, wait):
    answer = client.get("/headlines/q", params={"wait": wait})
    assert answer.status_code == 422 and "wait" in answer.json()["detail"]


def test_new_routes_document_their_error_answers(client):
    paths = client.get("/openapi.json").json()["paths"]
    expected = {("/clusters", "get"): {"401", "422", "503"}, ("/stats", "get"): {"401", "503"},
                ("/headlines/{headline_id}", "get"): {"401", "404", "422", "503"}}
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert codes <= set(responses), (path, set(responses))
        assert all(responses[c]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
                   for c in codes)
