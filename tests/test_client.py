"""The Python client (headline_dedup.Client, AsyncClient) against a running `headlines up`: real Redis,
real API, real workers, with api_token and read_token set, as a guarded deployment has them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from headline_dedup import AsyncClient, Client
from headline_dedup.client import (
    AuthError,
    ClusterPage,
    Headline,
    MissingError,
    RejectedError,
    Result,
    UnreachableError,
)
from headline_dedup.embedded import free_port
from headline_dedup.errors import BadInputError, HeadlineError, NotFoundError
from tests.helpers import FED, UNRELATED, Service, headlines_up

TOKEN = "client-Token-7"
WHEN = "2014-03-24T12:00:00Z"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("client")
    with headlines_up(folder, {"HEADLINES_API_TOKEN": TOKEN, "HEADLINES_READ_TOKEN": TOKEN}) as service:
        yield service


@pytest.fixture
def client(service: Service) -> Iterator[Client]:
    with Client(service.base, token=TOKEN, timeout=30) as c:
        yield c


def test_submit_wait_and_read_back(client):
    ids = client.submit([{"id": "fed", "title": FED, "source": "WSJ", "published_at": WHEN},
                         Headline(id="fed-copy", title=FED.lower() + " - Reuters", published_at=WHEN),
                         {"title": UNRELATED[0], "published_at": WHEN}])
    assert ids[:2] == ["fed", "fed-copy"] and len(ids) == 3 and ids[2]
    results = client.wait(ids, timeout=60)
    assert list(results) == ids and all(r.status == "done" for r in results.values())
    fed, copy, other = (results[i] for i in ids)
    assert (copy.cluster_id, copy.duplicate_of, fed.duplicate_of) == (fed.cluster_id, "fed", None)
    assert other.cluster_id != fed.cluster_id
    assert client.get("fed") == fed
    story = client.cluster(fed.cluster_id)
    assert story.size == 2 and [h.id for h in story.headlines] == ["fed", "fed-copy"]
    assert client.lookup("Dollar slides as Fed dovish tone prices in more rate cuts",
                         published_at="2014-03-24T13:00:00Z").cluster_id == fed.cluster_id
    # Other tests of this module share the service and run in a random order: check the ordering itself.
    by_size = client.clusters(order="size", limit=500)
    sizes = [c.size for c in by_size.clusters]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] >= 2 and by_size.total >= 2
    assert (fed.cluster_id, 2) in [(c.cluster_id, c.size) for c in by_size.clusters]
    assert client.stats()["headlines"] >= 3


def test_the_async_client_does_the_same(service):
    async def run() -> tuple[list[str], dict[str, Result], ClusterPage]:
        async with AsyncClient(service.base, token=TOKEN, timeout=30) as client:
            ids = await client.submit([{"id": f"a{i}", "title": t, "published_at": WHEN}
                                       for i, t in enumerate(UNRELATED)])
            results = await client.wait(ids, timeout=60)
            page = await client.clusters(order="recent", since="2014-03-24T00:00:00Z")
            return ids, results, page

    ids, results, page = asyncio.run(run())
    assert ids == [f"a{i}" for i in range(len(UNRELATED))]
    assert all(results[i].status == "done" and results[i].cluster_id for i in ids)
    assert {results[i].cluster_id for i in ids} <= {c.cluster_id for c in page.clusters}


def test_a_bad_item_is_an_error_naming_its_index_and_id(client):
    with pytest.raises(RejectedError) as caught:
        client.submit([{"id": "good-1", "title": FED}, {"id": "empty-title", "title": ""}])
    error = caught.value
    assert isinstance(error, BadInputError) and isinstance(error, HeadlineError) and error.status == 422
    assert [(p["index"], p["id"]) for p in error.problems] == [(1, "empty-title")]
    assert "item 1 (id 'empty-title')" in str(error) and "empty" in str(error.problems[0]["reason"])
    with pytest.raises(MissingError):
        client.get("good-1")  # the batch was refused whole


def test_a_bad_item_in_a_later_batch_is_named_by_its_place_in_the_whole_list(client):
    with pytest.raises(RejectedError) as caught:
        client.submit([{"id": "first-ok", "title": FED}, {"id": "second ok", "title": FED}], batch=1)
    assert [(p["index"], p["id"]) for p in caught.value.problems] == [(1, "second ok")]
    assert "item 1 (id 'second ok')" in str(caught.value) and caught.value.submitted == ["first-ok"]


def test_no_token_or_a_wrong_one_is_an_auth_error(service):
    for token in (None, "wrong"):
        with Client(service.base, token=token) as client:
            with pytest.raises(AuthError, match="token"):
                client.get("fed")
            with pytest.raises(AuthError):
                client.submit([{"title": FED}])
            with pytest.raises(AuthError):
                client.clusters()


def test_unknown_ids_are_not_found_errors(client):
    with pytest.raises(MissingError, match="nope") as caught:
        client.get("nope")
    assert isinstance(caught.value, NotFoundError) and caught.value.status == 404
    with pytest.raises(MissingError):
        client.cluster("nope")


def test_bad_parameters_are_rejected_errors(client):
    with pytest.raises(RejectedError, match="order"):
        client.clusters(order="biggest")
    with pytest.raises(RejectedError, match="since"):
        client.clusters(since="yesterday")


def test_an_api_that_does_not_answer_is_a_clear_error():
    base = f"http://127.0.0.1:{free_port()}"
    with Client(base, timeout=2) as client, pytest.raises(UnreachableError, match="cannot connect") as caught:
        client.get("x")
    assert base in str(caught.value) and "headlines up" in str(caught.value)

    async def run() -> None:
        async with AsyncClient(base, timeout=2) as client:
            await client.stats()

    with pytest.raises(UnreachableError):
        asyncio.run(run())
