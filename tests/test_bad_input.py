"""Bad input over HTTP: always a 4xx that says what is wrong, never a 5xx, and nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from headline_dedup.api.app import create_app
from tests.helpers import FED, drain

GOOD = {"id": "ok", "title": FED, "published_at": "2014-03-24T12:00:00Z"}
FUZZ = hyp_settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def client(settings, r, engine) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a bug must show up as the 500 a client would see.
    with TestClient(create_app(settings, r), raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, body: bytes):
    return client.post("/headlines", content=body, headers={"content-type": "application/json"})


def with_(**fields: object) -> bytes:
    return json.dumps({**GOOD, **fields}).encode()


BAD_BODIES = [
    (b"not json", "not JSON"),
    (b"", "not JSON"),
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b'{"title": "caf\xe9"}', "not valid UTF-8"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"title": "x", "id": ' + b"9" * 5000 + b"}", "not acceptable JSON"),
    (b"null", "JSON object"),
    (b"[]", "JSON object"),
    (b'"a title"', "JSON object"),
    (b"{}", "title is missing"),
    (b'{"id": "a"}', "title is missing"),
    (with_(title=""), "title must not be empty"),
    (with_(id=""), "id must not be empty"),  # was taken as "no id": a retry stored a second headline
    (with_(id="  "), "id must not be empty"),
    (with_(title=" \t\n "), "title must not be empty"),
    (with_(title=5), "title must be a string"),
    (with_(title=None), "title must be a string"),
    (with_(title=["a"]), "title must be a string"),
    (with_(title="x" * 1001), "longer than 1000"),
    (with_(title="!!! ???"), "no words"),
    (with_(title="\U0001f600"), "no words"),
    (b'{"title": "bad \\ud800 text"}', "lone surrogate"),
    (b'{"title": "ok", "source": "\\udfff"}', "lone surrogate"),
    (with_(id="x" * 201), "longer than 200"),
    (with_(id="a\x00b"), "control characters"),
    (with_(id="a\nb"), "control characters"),
    (with_(id="a b"), "spaces"),
    (with_(id=".."), "must not be '.' or '..'"),
    (with_(id=1.5), "id must be a string"),
    (with_(id=True), "id must be a string"),
    (with_(id={"a": 1}), "id must be a string"),
    (with_(source=7), "source must be a string"),
    (with_(published_at="yesterday"), "ISO 8601"),
    (with_(published_at="2014-13-45"), "ISO 8601"),
    (with_(published_at=1395662400), "ISO 8601"),
    (with_(published_at="9999-01-01T00:00:00Z"), "future"),
    (with_(published_at="0001-01-01T00:00:00+14:00"), "before 1900"),
    (with_(colour="red"), "unknown field"),
    (b'{"headlines": []}', "non-empty list"),
    (b'{"headlines": {}}', "non-empty list"),
    (b'{"headlines": [{"title": "a b"}], "extra": 1}', "only the field"),
]


@pytest.mark.parametrize(("body", "reason"), BAD_BODIES, ids=[reason for _, reason in BAD_BODIES])
def test_bad_body_is_a_422_that_says_why_and_stores_nothing(client, r, engine, body, reason):
    answer = post(client, body)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]
    assert r.llen(engine.keys.ids) == 0 and not r.keys(engine.keys.pattern())


def test_a_batch_over_max_batch_is_rejected(settings, r, engine):
    with TestClient(create_app(settings.model_copy(update={"max_batch": 3}), r)) as small:
        answer = small.post("/headlines", json={"headlines": [{"title": f"{FED} {i}"} for i in range(4)]})
    assert answer.status_code == 422
    assert "over the maximum of 3" in answer.json()["detail"]
    assert r.llen(engine.keys.ids) == 0


def test_one_bad_item_rejects_the_whole_batch_naming_each(client, r, engine):
    items = [{"id": "a", "title": FED}, {"id": "b", "title": ""}, {"id": "c", "title": FED},
             {"id": "d e", "title": FED}, "not an object"]
    answer = client.post("/headlines", json={"headlines": items})
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert [p["index"] for p in problems] == [1, 3, 4]
    assert "empty" in problems[0]["reason"] and "spaces" in problems[1]["reason"]
    assert "headlines[1]" in answer.json()["detail"]
    assert r.llen(engine.keys.ids) == 0 and r.zcard(engine.keys.queued) == 0


def test_an_id_with_a_slash_or_odd_characters_reads_back(client, r, engine):
    # (No "%" in these: the TestClient decodes a path twice, where uvicorn decodes it once.)
    for hid in ("a/b", "ü-ñ", "x?y#z", "a:b;c", "..."):
        assert client.post("/headlines", json={"id": hid, "title": FED}).status_code == 202
        answer = client.get(f"/headlines/{quote(hid, safe='')}")
        assert answer.status_code == 200, (hid, answer.text)
        assert answer.json()["id"] == hid


@pytest.mark.parametrize("path", [
    "/headlines/nope", "/headlines/%00", "/headlines/%ff", "/headlines/a%2F..%2Fb", "/headlines/" + "x" * 5000,
    "/clusters/nope", "/clusters/%ff", "/clusters/..%2F..", "/clusters/-1", "/clusters/" + "9" * 5000,
])
def test_unknown_or_odd_ids_on_get_are_404(client, path):
    answer = client.get(path)
    assert answer.status_code == 404, answer.text
    assert answer.json()["detail"]


@pytest.mark.parametrize(("query", "reason"), [
    ("", "title: Field required"),
    ("?title=", "must not be empty"),
    ("?title=%20%20", "must not be empty"),
    ("?title=!!!", "no words"),
    ("?title=%ff", "no words"),
    ("?title=" + "x" * 1001, "longer than 1000"),
    ("?title=ok&published_at=nope", "ISO 8601"),
    ("?title=ok&published_at=0001-01-01T00:00:00%2B14:00", "before 1900"),
])
def test_lookup_with_odd_or_missing_title_is_a_422(client, query, reason):
    answer = client.get("/lookup" + query)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["detail"]


@pytest.mark.parametrize("query", ["?limit=abc", "?limit=0", "?limit=99999999999999999999", "?offset=-1"])
def test_bad_cluster_paging_is_a_422(client, query):
    assert client.get("/clusters/1" + query).status_code == 422


def test_accepted_odd_but_valid_input_is_placed_by_a_worker(client, r, engine):
    # What intake lets through must not fail in the worker either (e.g. a title that is one CJK word).
    odd = [{"id": "cjk", "title": "日本"}, {"id": "tag", "title": "- Reuters"}, {"id": "one", "title": "a"},
           {"id": "old", "title": FED, "published_at": "1900-01-01T00:00:00Z"}]
    for item in odd:
        assert client.post("/headlines", json=item).status_code == 202
    client.app.state.headlines.batcher.flush()
    drain(r, engine)
    assert all(client.get(f"/headlines/{item['id']}").json()["status"] == "done" for item in odd)


# --- property-based fuzzing: whatever arrives, the answer is never a 5xx --------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.lists(st.text(), max_size=2)
headline_like = st.fixed_dictionaries({}, optional={
    "id": field_values, "title": field_values | st.text(min_size=1), "source": field_values,
    "published_at": field_values | st.datetimes().map(lambda d: d.isoformat()),
})


def no_server_error(answer) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()["detail"]


@FUZZ
@given(body=json_values | headline_like | st.fixed_dictionaries({"headlines": st.lists(headline_like, max_size=5)}))
def test_fuzz_json_bodies_never_5xx(client, body):
    no_server_error(client.post("/headlines", content=json.dumps(body).encode(),
                                headers={"content-type": "application/json"}))


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_fuzz_raw_bodies_never_5xx(client, raw):
    no_server_error(post(client, raw))


@FUZZ
@given(text=st.text(max_size=60), published=st.none() | st.text(max_size=30))
def test_fuzz_get_routes_never_5xx(client, text, published):
    no_server_error(client.get(f"/headlines/{quote(text, safe='')}"))
    no_server_error(client.get(f"/clusters/{quote(text, safe='')}"))
    params = {"title": text} if published is None else {"title": text, "published_at": published}
    no_server_error(client.get("/lookup", params=params))


paging_values = st.integers() | st.integers(min_value=2**62, max_value=2**64) | st.text(max_size=12)


list_values = st.sampled_from(["recent", "size"]) | st.text(max_size=12)
since_values = st.datetimes().map(lambda d: d.isoformat()) | st.text(max_size=30)
# Small waits only: an unknown id answers at once, and a long valid wait would only slow the run.
wait_values = st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8) | st.floats(0, 0.05)


@FUZZ
@given(limit=st.none() | paging_values, offset=st.none() | paging_values, top=st.none() | paging_values,
       order=st.none() | list_values, since=st.none() | since_values, wait=st.none() | wait_values)
def test_fuzz_query_parameters_never_5xx(client, limit, offset, top, order, since, wait):
    # Before the bounds: offset=9223372036854775807 passed validation and Redis refused it, a 500.
    params = {k: str(v) for k, v in {"limit": limit, "offset": offset, "top": top}.items() if v is not None}
    no_server_error(client.get("/clusters/1", params=params))
    no_server_error(client.get("/lookup", params={"title": FED, **params}))
    listing = {k: str(v) for k, v in {"order": order, "since": since}.items() if v is not None}
    no_server_error(client.get("/clusters", params={**params, **listing}))
    no_server_error(client.get("/headlines/nope", params={} if wait is None else {"wait": str(wait)}))


@pytest.mark.parametrize("offset", ["9223372036854775807", "9223372036854775806", str(10**12)])
def test_an_offset_redis_cannot_take_is_a_422(client, offset):
    answer = client.get("/clusters/1", params={"offset": offset})
    assert answer.status_code == 422 and "offset" in answer.json()["detail"]
