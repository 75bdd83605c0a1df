"""Every error the service raises on purpose, under one root.

    HeadlineError
    ├── ConfigError          a config key is missing, mistyped or out of range
    ├── BadInputError        a headline or file the service cannot accept
    ├── NotFoundError        an unknown headline or cluster id
    ├── AdminError           an admin action that would break an invariant (merge into itself, ...)
    └── RedisUnavailableError  no Redis could be reached or started
"""


class HeadlineError(Exception):
    """Root of every error headline-dedup raises on purpose."""


class ConfigError(HeadlineError):
    """A config value is invalid; the message names the key."""


class BadInputError(HeadlineError):
    """Input the service refuses; the message says why, `problems` lists each bad item of a batch."""

    def __init__(self, message: str, problems: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFoundError(HeadlineError):
    """An id that does not exist."""


class AdminError(HeadlineError):
    """An admin action that cannot be carried out; nothing was changed."""


class RedisUnavailableError(HeadlineError):
    """No Redis answers at the configured URL, and none could be started."""
