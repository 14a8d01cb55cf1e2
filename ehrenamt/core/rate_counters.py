"""Fixed-window rate-limit counters, counted in one round trip per request."""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis
from flask import Flask, current_app
from limits import RateLimitItem, parse_many

from ehrenamt.extensions import limiter, per_app

log = logging.getLogger(__name__)

#: The counters' clock. Windows are fixed (they end on multiples of their length), so tests
#: hold this still: four requests that straddle a minute's end would count in two windows.
_clock = time.time

#: Keys of ``limits``' Redis storage start with this; reset() deletes them all.
REDIS_KEY_PREFIX = "LIMITS:"


#: KEYS: counters to increment, then counters to read; ARGV[1]: how many to increment,
#: then the expiry in seconds of each incremented one. Returns every counter's value.
_COUNT_SCRIPT = """
local hits = tonumber(ARGV[1])
local values = {}
for i = 1, #KEYS do
    if i <= hits then
        values[i] = redis.call('INCR', KEYS[i])
        if values[i] == 1 then
            redis.call('EXPIRE', KEYS[i], ARGV[i + 1])
        end
    else
        values[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
    end
end
return values
"""


class Unavailable(Exception):
    """The counters could not be reached (Redis down)."""


@dataclass(frozen=True)
class Window:
    """One limit of a setting for one identifier, in the current fixed window."""

    setting: str
    item: RateLimitItem
    key: str
    expiry: int
    #: Seconds until this window ends.
    resets_in: int


@dataclass(frozen=True)
class Exceeded:
    """A limit used up: which one, and when to try again."""

    setting: str
    item: RateLimitItem
    retry_after: int


class _Counters(Protocol):
    def count(self, hits: Sequence[Window], reads: Sequence[Window]) -> list[int]: ...


class _RedisCounters:
    """All counters of a request in one EVALSHA."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self._script = self._client.register_script(_COUNT_SCRIPT)

    def count(self, hits: Sequence[Window], reads: Sequence[Window]) -> list[int]:
        keys = [window.key for window in (*hits, *reads)]
        args = [len(hits), *(window.expiry for window in hits)]
        try:
            values = self._script(keys=keys, args=args)
        except redis.RedisError as error:
            raise Unavailable(str(error)) from error
        return [int(value) for value in values]


class _StorageCounters:
    """Through Flask-Limiter's ``limits`` storage (memory, or any other it supports), a
    call each. The storage is looked up each time: ``Limiter.init_app`` replaces it."""

    def count(self, hits: Sequence[Window], reads: Sequence[Window]) -> list[int]:
        storage = limiter.limiter.storage
        try:
            counted = [storage.incr(w.key, w.expiry) for w in hits]
            return counted + [int(storage.get(w.key)) for w in reads]
        except Exception as error:  # the storage's own errors (e.g. memcached down)
            raise Unavailable(str(error)) from error


class _Outage:
    """Logs an outage of the counters when it begins and when it ends, not per request
    (a busy till API would otherwise write a line for every refused check)."""

    def __init__(self) -> None:
        self._down = False
        self._lock = threading.Lock()

    def failed(self, error: Unavailable) -> None:
        with self._lock:
            began, self._down = not self._down, True
        if began:
            log.error("rate limit counters unreachable, until they answer again: %s", error)

    def answered(self) -> None:
        if self._down:  # read without the lock: the usual case costs nothing
            with self._lock:
                ended, self._down = self._down, False
            if ended:
                log.warning("rate limit counters reachable again")


def _make_counters(app: Flask) -> _Counters:
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return _RedisCounters(uri)
    return _StorageCounters()


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> list[tuple[RateLimitItem, int, str]]:
    """The limits of a setting's text, each with its window in seconds and its text
    (worked out once: they are counted on every request)."""
    return [(item, int(item.get_expiry()), str(item)) for item in parse_many(text)]


def _windows(setting: str, identifier: str, now: float) -> list[Window]:
    windows = []
    for item, expiry, text in _parsed(current_app.config[setting]):
        window = math.floor(now / expiry)
        windows.append(
            Window(
                setting=setting,
                item=item,
                key=f"{REDIS_KEY_PREFIX}ehrenamt-api/{setting}/{identifier}/{text}/{window}",
                expiry=expiry,
                resets_in=max(1, math.ceil((window + 1) * expiry - now)),
            )
        )
    return windows


def count(
    hits: Sequence[tuple[str, str]], reads: Sequence[tuple[str, str]] = ()
) -> tuple[Exceeded | None, Exceeded | None]:
    """Count one request against ``hits`` and look at ``reads`` ((setting, identifier) each).

    Returns the first hit limit that is now exceeded, and the first read limit that is
    already used up (or None for each). Raises :class:`Unavailable` if the counters
    cannot be reached (logged once per outage). Counts nothing when rate limiting is
    switched off.
    """
    if not limiter.enabled:
        return None, None
    now = _clock()
    hit_windows = [w for setting, ident in hits for w in _windows(setting, ident, now)]
    read_windows = [w for setting, ident in reads for w in _windows(setting, ident, now)]
    outage = per_app("ehrenamt.api_limits_outage", lambda _app: _Outage())
    try:
        values = per_app("ehrenamt.api_limits", _make_counters).count(hit_windows, read_windows)
    except Unavailable as error:
        outage.failed(error)
        raise
    outage.answered()
    hit_values, read_values = values[: len(hit_windows)], values[len(hit_windows) :]
    over = next(
        (w for w, v in zip(hit_windows, hit_values, strict=True) if v > w.item.amount), None
    )
    used_up = next(
        (w for w, v in zip(read_windows, read_values, strict=True) if v >= w.item.amount), None
    )
    return _exceeded(over), _exceeded(used_up)


def _exceeded(window: Window | None) -> Exceeded | None:
    if window is None:
        return None
    return Exceeded(window.setting, window.item, window.resets_in)
