"""Change events: written with what they describe (one Redis and a Redis Cluster), and served by GET /events
to the Python client from a running `headlines up` (real Redis, real API, real workers, read_token set)."""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from headline_dedup import AsyncClient, Client, admin
from headline_dedup.api.app import async_connect, create_app
from headline_dedup.api.events import follow
from headline_dedup.client import AuthError, Event, RejectedError
from headline_dedup.config import build_settings
from headline_dedup.embedded import free_port
from headline_dedup.errors import AdminError
from headline_dedup.state import events, outbox
from headline_dedup.state.outbox import Remote
from headline_dedup.state.records import Story
from tests.helpers import (
    BOTH,
    FED,
    UNRELATED,
    Service,
    cli,
    headline,
    headlines_up,
    place,
)

TOKEN = "events-Token-3"
WHEN = "2014-03-24T12:00:00Z"
VOLCANO = ["Volcano erupts in Iceland, ash cloud grounds flights", "Iceland volcano ash cloud grounds European flights"]
QUAKE = ["Strong earthquake shakes Chile coast, tsunami warning issued", "Chile earthquake triggers tsunami warning"]


def stored(r, engine) -> list[events.Event]:
    return [events.decode(eid, raw) for eid, raw in r.xrange(engine.keys.events)]


# --- written with what they describe ---------------------------------------------------------------

@BOTH
def test_a_placed_event_per_headline_with_its_story(r, engine):
    placed = place(r, engine, [headline("fed", FED), headline("fed-copy", FED + " - Reuters"),
                               headline("other", UNRELATED[0])])
    got = {e.data["id"]: e for e in stored(r, engine) if e.kind == events.PLACED}
    assert set(got) == {"fed", "fed-copy", "other"}
    for h in placed:
        assert got[h["id"]].data == {"id": h["id"], "cluster_id": h["cluster_id"],
                                     "duplicate_of": h["duplicate_of"], "partition": ""}
    assert got["fed-copy"].data["duplicate_of"] == "fed" and got["fed"].data["duplicate_of"] is None


@BOTH
def test_admin_actions_and_their_undo_are_events(r, engine):
    volcano = place(r, engine, [headline(f"v{i}", t) for i, t in enumerate(VOLCANO)])[0]["cluster_id"]
    quake = place(r, engine, [headline(f"q{i}", t) for i, t in enumerate(QUAKE)])[0]["cluster_id"]
    before = len(stored(r, engine))
    merge = admin.merge(r, engine, volcano, [quake])
    admin.undo(r, engine, merge)
    new, _ = admin.split(r, engine, volcano, ["v1"])
    admin.label(r, engine, volcano, "Iceland eruption")
    label = admin.label(r, engine, volcano, "Eyjafjallajokull")
    admin.undo(r, engine, label)
    assert [(e.kind, e.data) for e in stored(r, engine)[before:]] == [
        ("merged", {"target": volcano, "sources": [quake]}),
        ("split", {"cluster_id": volcano, "new_cluster_id": quake, "ids": ["q0", "q1"]}),  # the undone merge
        ("split", {"cluster_id": volcano, "new_cluster_id": new, "ids": ["v1"]}),
        ("labelled", {"cluster_id": volcano, "label": "Iceland eruption"}),
        ("labelled", {"cluster_id": volcano, "label": "Eyjafjallajokull"}),
        ("labelled", {"cluster_id": volcano, "label": "Iceland eruption"}),  # the undone label
    ]


@pytest.mark.parametrize("backend", ["cluster"], indirect=True)
def test_an_outbox_entry_left_by_a_dead_worker_still_writes_its_events(r, engine):
    # On a cluster the event is in the outbox entry the placement's own script stored; a worker that died
    # before applying it leaves it for the next holder of the lock (outbox.finish).
    remote = Remote()
    remote.hset(engine.keys.cluster("77"), {Story.TITLE: "Left behind"})
    remote.event(engine.keys, events.labelled("77", "Left behind"))
    r.hset(engine.keys.outbox, outbox.entry_name(1, 1), remote.pack(r))
    assert stored(r, engine) == []
    assert outbox.finish(r, engine.keys) == 1
    assert [(e.kind, e.data) for e in stored(r, engine)] == [("labelled", {"cluster_id": "77",
                                                                          "label": "Left behind"})]
    assert r.hget(engine.keys.cluster("77"), Story.TITLE) == b"Left behind"


def test_a_refused_action_writes_no_event(r, engine):
    place(r, engine, [headline("alone", UNRELATED[1])])
    before = len(stored(r, engine))
    with pytest.raises(AdminError, match="no cluster"):
        admin.label(r, engine, "no-such-story", "x")
    assert len(stored(r, engine)) == before


def test_the_stream_is_capped(r, engine):
    engine.keys = dataclasses.replace(engine.keys, events_max=100)
    place(r, engine, [headline(f"h{i}", f"{UNRELATED[i % 4]} number {i}") for i in range(400)])
    assert 100 <= r.xlen(engine.keys.events) < 400  # MAXLEN ~: whole macro nodes are trimmed


@BOTH
def test_the_route_follows_the_stream_with_the_apis_async_client(r, engine, settings, state_url):
    async def run() -> list[str]:
        aredis = async_connect(state_url, settings.redis_cluster)
        try:
            start = await events.last_id(aredis, engine.keys)
            place(r, engine, [headline("fed", FED), headline("other", UNRELATED[0])])
            stream = follow(aredis, engine.keys, start, ping=0.05)
            got = [await anext(stream) for _ in range(4)]  # retry, both placements, then a keepalive
            await stream.aclose()
            return got
        finally:
            await aredis.aclose()

    retry, fed, other, ping = asyncio.run(run())
    assert (retry, ping) == ("retry: 1000\n\n", ": ping\n\n")
    assert fed.startswith("id: ") and "\nevent: placed\ndata: {\"id\":\"fed\"," in fed and fed.endswith("\n\n")
    assert '"id":"other"' in other


# --- served over HTTP, to the client ---------------------------------------------------------------

@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("events")
    with headlines_up(folder, {"HEADLINES_READ_TOKEN": TOKEN}) as service:
        yield service


@pytest.fixture
def client(service: Service) -> Iterator[Client]:
    with Client(service.base, token=TOKEN, timeout=30) as c:
        yield c


def take(stream: Iterable[Event], done: Callable[[list[Event]], bool], timeout: float = 60) -> list[Event]:
    """Events from `stream` until `done` says so, read in a thread so a missing event fails, not hangs."""
    got: list[Event] = []
    finished: queue.Queue[BaseException | None] = queue.Queue()

    def run() -> None:
        try:
            for event in stream:
                got.append(event)
                if done(got):
                    break
            finished.put(None)
        except BaseException as exc:  # handed to the test
            finished.put(exc)

    threading.Thread(target=run, daemon=True).start()
    try:
        error = finished.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"the stream gave {len(got)} events in {timeout} s, not what was awaited: {got[-5:]}")
    if error is not None:
        raise error
    return list(got)


def placed_ids(got: list[Event]) -> list[str]:
    return [e.data["id"] for e in got if e.kind == "placed"]


def submit_and_wait(client: Client, prefix: str, titles: list[str]) -> dict:
    ids = client.submit([{"id": f"{prefix}{i}", "title": t, "published_at": WHEN} for i, t in enumerate(titles)])
    results = client.wait(ids, timeout=60)
    assert all(r.status == "done" for r in results.values()), results
    return results


def test_placed_events_match_what_the_headlines_read(client):
    results = submit_and_wait(client, "fed", [FED, FED.lower() + " - Reuters", UNRELATED[2]])
    got = take(client.events(last_event_id="0"), lambda got: set(results) <= set(placed_ids(got)))
    by_id = {e.data["id"]: e for e in got if e.kind == "placed"}
    for hid, result in results.items():
        assert (by_id[hid].data["cluster_id"], by_id[hid].data["duplicate_of"]) == (result.cluster_id,
                                                                                  result.duplicate_of)
    # The copy names the group's first headline: fed0, unless another test of this module (random order)
    # placed a copy of FED before, which fed0 then duplicates too.
    assert by_id["fed1"].data["duplicate_of"] == (results["fed0"].duplicate_of or "fed0")
    assert [e.id for e in got] == sorted(e.id for e in got) and len({e.id for e in got}) == len(got)


def test_resuming_from_an_id_gives_exactly_the_events_after_it(client):
    submit_and_wait(client, "old", [VOLCANO[0]])
    seen = take(client.events(last_event_id="0"), lambda got: "old0" in placed_ids(got))
    mark = seen[-1].id
    missed = submit_and_wait(client, "missed", [QUAKE[0], QUAKE[1], UNRELATED[3]])
    got = take(client.events(last_event_id=mark), lambda got: set(missed) <= set(placed_ids(got)))
    assert placed_ids(got) == list(missed)  # nothing from before the mark, nothing twice, in order
    assert all(e.id > mark for e in got)


def test_with_no_id_only_new_events_come(service, client):
    submit_and_wait(client, "before", [UNRELATED[0]])
    lines: queue.Queue[str] = queue.Queue()
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def read() -> None:
        with httpx.stream("GET", f"{service.base}/events", headers=headers, timeout=60) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            for line in answer.iter_lines():
                lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    assert lines.get(timeout=30) == "retry: 1000"  # sent once the stream's start is fixed
    submit_and_wait(client, "after", [VOLCANO[1]])
    assert lines.get(timeout=30) == ""
    message = [lines.get(timeout=30) for _ in range(4)]  # the first event after the start: ours
    assert message[0].startswith("id: ") and message[1] == "event: placed" and message[3] == ""
    assert message[2].startswith('data: {"id":"after0",')


def test_the_async_client_streams_too(service, client):
    results = submit_and_wait(client, "async", [UNRELATED[1]])

    async def first_of_ours() -> Event:
        async with AsyncClient(service.base, token=TOKEN) as aclient:
            async for event in aclient.events(last_event_id="0"):
                if event.kind == "placed" and event.data["id"] == "async0":
                    return event
        raise AssertionError("the stream ended")

    event = asyncio.run(asyncio.wait_for(first_of_ours(), 60))
    assert event.data["cluster_id"] == results["async0"].cluster_id


def test_admin_commands_reach_the_stream(service, client):
    results = submit_and_wait(client, "label", [FED + " again today"])
    cid = results["label0"].cluster_id
    seen = take(client.events(last_event_id="0"), lambda got: "label0" in placed_ids(got))
    cli(service.env, "label", cid, "The Fed, dovish")
    got = take(client.events(last_event_id=seen[-1].id), lambda got: any(e.kind == "labelled" for e in got))
    assert got[-1].data == {"cluster_id": cid, "label": "The Fed, dovish"}


def test_the_stream_needs_the_read_token_and_a_real_id(service):
    with Client(service.base) as anonymous, pytest.raises(AuthError):
        next(iter(anonymous.events()))
    with Client(service.base, token=TOKEN) as c, pytest.raises(RejectedError, match="not an event id"):
        next(iter(c.events(last_event_id="yesterday")))
    answer = httpx.get(f"{service.base}/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    route = answer["paths"]["/events"]["get"]
    assert {"200", "401", "422", "503"} <= set(route["responses"])
    assert "text/event-stream" in route["responses"]["200"]["content"]
    assert all(route["responses"][c]["content"]["application/json"]["schema"]
               == {"$ref": "#/components/schemas/ErrorOut"} for c in ("401", "422", "503"))


def test_redis_away_is_a_503_before_the_stream_begins():
    settings = build_settings({"redis_url": f"redis://127.0.0.1:{free_port()}"})
    with TestClient(create_app(settings)) as client:
        answer = client.get("/events")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert "Redis is unavailable" in answer.json()["detail"]
