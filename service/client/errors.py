"""What the client raises: the service's own error classes (service/errors.py), so one `except
HeadlineError` catches both, plus the few that only a client meets (401, an API it cannot reach)."""

from __future__ import annotations

from typing import Any

import httpx

from headline_dedup.errors import BadInputError, HeadlineError, NotFoundError, RedisUnavailableError


class ClientError(HeadlineError):
    """An answer the client cannot turn into a result; `status` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ClientError):
    """401: the route needs a bearer token (api_token or read_token) and `token=` was missing or wrong."""


class UnreachableError(ClientError):
    """No answer from the API at all: connection refused, DNS, or the timeout ran out."""


class RejectedError(ClientError, BadInputError):
    """422: the service refused the input; `problems` names each bad item (index in the list given to
    submit, id, reason). `submitted`: ids of earlier batches of the same submit() call, which were stored."""

    def __init__(self, message: str, problems: list[dict[str, object]], status: int = 422) -> None:
        BadInputError.__init__(self, message, problems)
        self.status = status
        self.submitted: list[str] = []


class MissingError(ClientError, NotFoundError):
    """404: no such headline or story."""


class UnavailableError(ClientError, RedisUnavailableError):
    """503: the service is up but its Redis is not; retry later."""


def raise_for(response: httpx.Response, items: list[dict[str, Any]] | None = None, offset: int = 0) -> None:
    """The exception for an error answer, naming the bad items of `items` (the batch sent, which starts at
    item `offset` of the caller's list) on a 422."""
    if response.status_code < 400:
        return
    detail = _detail(response)
    status = response.status_code
    if status == 401:
        raise AuthError(f"{detail} (pass token= to the client)", status)
    if status == 404:
        raise MissingError(detail, status)
    if status == 422:
        problems = _name_items(_problems(response), items or [], offset)
        named = "; ".join(f"item {p['index']}" + (f" (id {p['id']!r})" if p.get("id") else "") + f": {p['reason']}"
                          for p in problems[:5])
        raise RejectedError(f"{detail}" if not named else f"{len(problems)} bad item(s): {named}", problems, status)
    if status == 503:
        raise UnavailableError(detail, status)
    raise ClientError(f"HTTP {status} from {response.request.url}: {detail}", status)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


def _problems(response: httpx.Response) -> list[dict[str, object]]:
    try:
        body = response.json()
    except ValueError:
        return []
    found = body.get("problems") if isinstance(body, dict) else None
    return list(found) if isinstance(found, list) else []


def _name_items(problems: list[dict[str, object]], items: list[dict[str, Any]],
                offset: int) -> list[dict[str, object]]:
    """Each problem with the id of the item it is about (when it had one), indexed over the whole list."""
    named = []
    for problem in problems:
        index = problem.get("index")
        item = items[index] if isinstance(index, int) and 0 <= index < len(items) else None
        hid = item.get("id") if isinstance(item, dict) else None
        named.append({**problem, "index": index + offset if isinstance(index, int) else index, "id": hid})
    return named


def unreachable(base_url: str, exc: httpx.TransportError) -> UnreachableError:
    what = "timed out" if isinstance(exc, httpx.TimeoutException) else f"cannot connect ({exc})"
    return UnreachableError(f"the headline-dedup API at {base_url} {what}: is `headlines up` running there?")
