"""The Python client of the headline-dedup HTTP API: `from headline_dedup import Client, AsyncClient`.

    sync.py     Client (httpx.Client)         async_.py  AsyncClient (httpx.AsyncClient)
    _calls.py   each call's route and params, shared by both
    models.py   Headline (to submit), Result, Lookup, Cluster, ClusterPage, Event
    sse.py      the GET /events stream (Server-Sent Events) parsed into Events
    errors.py   AuthError, RejectedError, MissingError, UnavailableError, UnreachableError (HeadlineError)
"""

from headline_dedup.client.async_ import AsyncClient
from headline_dedup.client.errors import (
    AuthError,
    ClientError,
    MissingError,
    RejectedError,
    UnavailableError,
    UnreachableError,
)
from headline_dedup.client.models import Cluster, ClusterPage, ClusterSummary, Event, Headline, Lookup, Result
from headline_dedup.client.sync import Client

__all__ = ["AsyncClient", "AuthError", "Client", "ClientError", "Cluster", "ClusterPage", "ClusterSummary",
           "Event", "Headline", "Lookup", "MissingError", "RejectedError", "Result", "UnavailableError",
           "UnreachableError"]
