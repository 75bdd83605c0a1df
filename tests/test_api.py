"""The HTTP API end to end: FastAPI app, real Redis, jobs run by a real RQ worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from headline_dedup.api.app import create_app
from tests.helpers import BOTH, FED, UNRELATED, drain

pytestmark = BOTH  # every route on one Redis and on a 3-node Redis Cluster


@pytest.fixture
def client(settings, r, engine) -> Iterator[TestClient]:
    app = create_app(settings, r)
    with TestClient(app) as c:
        yield c


def settle(client: TestClient, r, engine) -> None:
    cast(FastAPI, client.app).state.headlines.batcher.flush()
    drain(r, engine)


def test_submit_poll_and_read(client, r, engine):
    answer = client.post("/headlines", json={"id": "fed", "title": FED, "source": "WSJ",
                                             "published_at": "2014-03-24T12:00:00Z"})
    assert answer.status_code == 202
    assert answer.json() == {"ids": ["fed"], "new": 1}
    assert client.get("/headlines/fed").json()["status"] == "queued"
    batch = [{"id": "dup", "title": FED.lower() + " - Reuters", "published_at": "2014-03-24T12:00:00Z"}]
    batch += [{"id": f"u{i}", "title": t, "published_at": "2014-03-24T12:00:00Z"} for i, t in enumerate(UNRELATED)]
    assert client.post("/headlines", json={"headlines": batch}).status_code == 202
    settle(client, r, engine)

    fed = client.get("/headlines/fed").json()
    assert fed == {"id": "fed", "title": FED, "source": "WSJ", "published_at": "2014-03-24T12:00:00Z",
                   "status": "done", "cluster_id": fed["cluster_id"], "duplicate_of": None}
    dup = client.get("/headlines/dup").json()
    assert (dup["cluster_id"], dup["duplicate_of"]) == (fed["cluster_id"], "fed")
    others = {client.get(f"/headlines/u{i}").json()["cluster_id"] for i in range(len(UNRELATED))}
    assert len(others) == len(UNRELATED) and fed["cluster_id"] not in others

    cluster = client.get(f"/clusters/{fed['cluster_id']}").json()
    assert cluster["size"] == 2
    assert [h["id"] for h in cluster["headlines"]] == ["fed", "dup"]
    page = client.get(f"/clusters/{fed['cluster_id']}", params={"limit": 1, "offset": 1}).json()
    assert [h["id"] for h in page["headlines"]] == ["dup"]

    found = client.get("/lookup", params={"title": "Dollar slides as Fed dovish tone prices in more rate cuts",
                                          "published_at": "2014-03-24T13:00:00Z"}).json()
    assert found["cluster_id"] == fed["cluster_id"]


def test_missing_id_is_made_up_and_published_defaults_to_now(client, r, engine):
    answer = client.post("/headlines", json={"title": FED})
    (hid,) = answer.json()["ids"]
    assert len(hid) >= 16
    assert client.get(f"/headlines/{hid}").json()["published_at"].startswith("20")


def test_resubmitted_id_creates_nothing(client, r, engine):
    client.post("/headlines", json={"id": "x", "title": FED})
    again = client.post("/headlines", json={"id": "x", "title": "Another title"})
    assert again.status_code == 202 and again.json()["new"] == 0
    assert client.get("/headlines/x").json()["title"] == FED


def test_unknown_ids_answer_404(client):
    assert client.get("/headlines/nope").status_code == 404
    assert client.get("/clusters/nope").status_code == 404
    assert "nope" in client.get("/clusters/nope").json()["detail"]


def test_bad_input_is_a_422_that_says_why_and_stores_nothing(client, r, engine):
    cases = [
        (b"not json", "not JSON"),
        (b'{"title": ""}', "empty"),
        (b'{"title": 5}', "string"),
        (b'{"title": "x", "published_at": "yesterday"}', "ISO 8601"),
        (b'{"headlines": [{"title": "good"}, {"title": "  "}]}', "headlines[1]"),
    ]
    for body, reason in cases:
        answer = client.post("/headlines", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422, body
        assert reason in answer.json()["detail"], (body, answer.json())
    assert r.llen(engine.keys.ids) == 0


def test_healthz_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok", "redis": True}
    schema = client.get("/openapi.json").json()
    assert {"/headlines", "/headlines/{headline_id}", "/clusters/{cluster_id}", "/lookup", "/healthz"} <= set(
        schema["paths"]
    )
