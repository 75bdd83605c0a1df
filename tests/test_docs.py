"""/docs works with no network: its page names no other host, and the app serves every asset it loads."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from headline_dedup.api.app import create_app
from headline_dedup.config import build_settings


def _loaded(html: str) -> list[str]:
    """Every URL the page loads or points at: src=, href= and the url: of Swagger UI's config."""
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"""url: ?["']([^"']+)["']""", html)


def test_docs_names_no_other_host_and_its_assets_are_served(settings, r):
    with TestClient(create_app(settings, r)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        urls = _loaded(page.text)
        assert any(u.endswith("swagger-ui-bundle.js") for u in urls) and any(u.endswith(".css") for u in urls)
        assert "/openapi.json" in urls
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page.text), page.text
        for url in urls:
            assert url.startswith("/"), url
            assert client.get(url).status_code == 200, url
        assert client.get("/redoc").status_code == 404  # FastAPI's ReDoc page loads from a CDN: off


def test_docs_assets_need_no_token_while_the_page_keeps_read_token(redis_url, r):
    settings = build_settings({"redis_url": redis_url, "read_token": "read-T"})
    with TestClient(create_app(settings, r)) as client:
        assert client.get("/docs").status_code == 401
        page = client.get("/docs", headers={"Authorization": "Bearer read-T"})
        assets = [u for u in _loaded(page.text) if u.startswith("/docs-assets/")]
        assert len(assets) == 3
        assert all(client.get(u).status_code == 200 for u in assets)
