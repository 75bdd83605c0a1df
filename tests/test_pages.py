"""The story browser's pages (GET /, /stories/{id}, /find, /login) as HTML, in-process on the real test Redis.

What a real browser does with them (scripts, live updates) is tests/test_browser.py's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from headline_dedup.api.app import create_app
from headline_dedup.browse import fold
from headline_dedup.config import build_settings
from tests.helpers import BOTH, DAY, FED, UNRELATED, headline, place

HOUR = 3600.0


class Page(HTMLParser):
    """Headings, labelled inputs and links of an HTML page, for checks a person would make."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.labels: set[str] = set()
        self.inputs: list[str] = []
        self.links: list[str] = []
        self.meta: dict[str, str] = {}
        self._heading: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("h1", "h2"):
            self._heading = tag
            self.headings.append((tag, ""))
        elif tag == "label":
            self.labels.add(a.get("for", ""))
        elif tag == "input" and a.get("type") != "hidden":
            self.inputs.append(a.get("id", ""))
        elif tag == "a":
            self.links.append(a.get("href", ""))
        elif tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)


@pytest.fixture
def client(settings, r) -> Iterator[TestClient]:
    with TestClient(create_app(settings, r)) as c:
        yield c


@pytest.fixture
def stories(r, engine) -> dict[str, str]:
    """FED and two copies of it from two sources, and four stories of one, an hour apart after it."""
    copies = [headline("fed", FED, DAY, "Reuters"), headline("fed2", FED.lower() + " - Reuters", DAY + 60, "AP"),
              headline("fed3", FED, DAY + 120, "AP")]
    singles = [headline(f"u{i}", title, DAY + (i + 1) * HOUR, "CNN") for i, title in enumerate(UNRELATED)]
    return {h["id"]: h["cluster_id"] for h in place(r, engine, copies + singles)}


def _readable(html: str) -> Page:
    page = Page(html)
    assert page.meta.get("viewport", "").startswith("width=device-width")
    assert [tag for tag, _ in page.headings].count("h1") == 1
    assert set(page.inputs) <= page.labels, "every input has a label"
    return page


@BOTH
def test_the_front_page_lists_the_newest_and_the_largest_stories(client, stories):
    answer = client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = _readable(answer.text)
    assert {"Newest", "Largest"} <= {text for _, text in page.headings}
    largest = answer.text.split('id="largest"')[1]
    assert largest.index("Dovish Tone Sends") < largest.index(UNRELATED[0][:20])
    assert "3</b> headlines" in largest and "AP, Reuters" in largest  # sources, the most frequent first
    newest = answer.text.split('id="recent"')[1].split("</ol>")[0]
    assert newest.index(UNRELATED[-1][:20]) < newest.index(UNRELATED[0][:20])
    assert f"/stories/{stories['fed']}" in page.links
    assert "24 Mar 2014 12:00\N{EN DASH}12:02 UTC" in answer.text  # the time span


def test_a_story_page_folds_duplicates_under_their_original(client, stories):
    answer = client.get(f"/stories/{stories['fed']}")
    assert answer.status_code == 200
    page = _readable(answer.text)
    assert ("h2", "Headlines") in page.headings
    items = answer.text.split('id="headlines"')[1]
    top, folded = items.split("<details>", 1)
    assert 'data-id="fed"' in top and 'data-id="fed2"' not in top
    assert "2 duplicates</summary>" in folded and 'data-id="fed2"' in folded and 'data-id="fed3"' in folded


def test_an_unknown_story_is_a_404_page(client, stories):
    answer = client.get("/stories/no-such-story")
    assert answer.status_code == 404 and "no cluster with id" in answer.text
    _readable(answer.text)


def test_which_story_is_this_answers_with_the_story(client, stories):
    answer = client.get("/find", params={"title": FED + " again", "published_at": "2014-03-24T12:30:00Z"})
    assert answer.status_code == 200
    assert f'href="/stories/{stories["fed"]}"' in answer.text.split('id="answer"')[1]
    new = client.get("/find", params={"title": "Volcano erupts in Iceland", "published_at": "2014-03-24T12:30:00Z"})
    assert "new story" in new.text
    bad = client.get("/find", params={"title": "x", "published_at": "yesterday"})
    assert bad.status_code == 422 and "published_at" in bad.text and "is not an ISO 8601 date" in bad.text
    _readable(client.get("/find").text)


def test_titles_are_escaped(client, r, engine):
    placed = place(r, engine, [headline("x", "<script>alert(1)</script> Fed holds rates", DAY)])
    for path in ("/", f"/stories/{placed[0]['cluster_id']}"):
        text = client.get(path).text
        assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text


def test_the_assets_are_served_by_the_app(client):
    assert "EventSource" in client.get("/assets/page.js").text
    assert "@media" in client.get("/assets/page.css").text


# --- read_token: a login form and a cookie ------------------------------------------------------------

@pytest.fixture
def guarded(redis_url, r) -> Iterator[TestClient]:
    settings = build_settings({"redis_url": redis_url, "read_token": "page-Token-1", "api_token": "post-Token-2"})
    with TestClient(create_app(settings, r)) as c:
        yield c


def test_a_page_without_the_token_answers_401_with_the_login_form(guarded):
    answer = guarded.get("/stories/1?x=1")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    page = _readable(answer.text)
    assert ("h1", "Log in") in page.headings and "token" in page.inputs
    assert 'name="next" value="/stories/1?x=1"' in answer.text
    assert guarded.get("/login").status_code == 200


def test_logging_in_sets_a_strict_httponly_cookie_that_reads_but_never_submits(guarded):
    wrong = guarded.post("/login", data={"token": "guess", "next": "/"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not the read token" in wrong.text and "guess" not in wrong.text
    answer = guarded.post("/login", data={"token": "page-Token-1", "next": "/find"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/find"
    cookie = answer.headers["set-cookie"]
    assert re.search(r"(?i)httponly", cookie) and re.search(r"(?i)samesite=strict", cookie)
    for path in ("/", "/find", "/clusters", f"/lookup?title={FED}"):
        assert guarded.get(path).status_code == 200, path  # the cookie, kept by the client
    assert guarded.post("/headlines", json={"title": FED}).status_code == 401  # a cookie never submits
    guarded.cookies.clear()
    assert guarded.get("/").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example.com/", "https://evil.example.com/", "/\\evil", "javascript:x"])
def test_login_only_sends_you_back_to_this_site(guarded, target):
    answer = guarded.post("/login", data={"token": "page-Token-1", "next": target}, follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_with_no_read_token_login_just_sends_you_on(client):
    assert "needs no token" in client.get("/login").text
    answer = client.post("/login", data={"token": "x", "next": "/find"}, follow_redirects=False)
    assert answer.status_code == 303 and "set-cookie" not in answer.headers


# --- pure ------------------------------------------------------------------------------------------------

def test_fold_puts_each_copy_under_its_original_and_keeps_orphans():
    rows = [{"id": "a"}, {"id": "b", "duplicate_of": "a"}, {"id": "c"}, {"id": "d", "duplicate_of": "a"},
            {"id": "e", "duplicate_of": "gone"}]
    folded = fold(rows)
    assert [(e.headline["id"], [d["id"] for d in e.duplicates]) for e in folded] == [
        ("a", ["b", "d"]), ("c", []), ("e", [])]
