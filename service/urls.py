"""Redis URLs as people may see them: the password masked, wherever a URL is printed or logged."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "***"


def masked(url: str) -> str:
    """`redis://user:secret@host:6379/0` as `redis://user:***@host:6379/0` (a `?password=` too); a URL
    without a password unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL at all (a bad port, say): show nothing that might be a secret
        return "<unparsable URL>"
    if password:
        userinfo = f"{parts.username}:{MASK}" if parts.username else f":{MASK}"
        parts = parts._replace(netloc=userinfo + "@" + parts.netloc.rpartition("@")[2])
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "password" for k, _ in query):
        parts = parts._replace(query=urlencode([(k, MASK if k == "password" else v) for k, v in query], safe="*/"))
    # Not urlunsplit: it writes unix:///path as unix:/path.
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")
