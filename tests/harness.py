"""Test harness shared by the test files: waiting until something holds (a card is made),
running two threads that meet at a barrier, and a private redis-server.

The ``redis_server`` fixture is registered for every test by ``conftest.py``
(``pytest_plugins``); the functions are imported where they are used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

import pytest
from flask import Flask

from ehrenamt.extensions import db
from ehrenamt.models import Card, CardState
from tests.processes import RedisServer

T = TypeVar("T")

#: What a task of :func:`at_once` calls where the threads line up.
Meet = Callable[[], object]


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str | Callable[[], object] = "the condition never held",
) -> T:
    """Call ``condition`` until it returns something true, and return that; fail the
    test with ``message`` (a callable is called then) once ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(interval)


def wait_for_card(
    card_id: int,
    state: CardState = CardState.ACTIVE,
    generation: int = 1,
    timeout: float = 20.0,
) -> Card:
    """Poll until a worker has made the card (its given generation) and return it."""

    def current() -> Card:
        db.session.rollback()
        card = db.session.get(Card, card_id, populate_existing=True)
        assert card is not None
        return card

    def made() -> Card | None:
        card = current()
        return card if card.state == state and card.rendered_generation >= generation else None

    def still() -> tuple[CardState, int]:
        card = current()
        return card.state, card.rendered_generation

    return wait_until(made, timeout=timeout, message=still)


def at_once(
    *tasks: Callable[[Meet], T], app: Flask | None = None, timeout: float = 60.0
) -> list[T]:
    """Run each task in a thread of its own and return their results in order.

    Each task is given ``meet``, which it calls where the threads are to line up (after
    loading, just before acting): none goes on until all have got there, so what they
    do next overlaps. With ``app``, each thread runs in an application context of its
    own and ends its database session. An exception in a thread fails the test here.
    """
    barrier = threading.Barrier(len(tasks), timeout=10)
    results: list[T | None] = [None] * len(tasks)
    errors: list[BaseException] = []

    def run(index: int, task: Callable[[Meet], T]) -> None:
        context: AbstractContextManager[object] = app.app_context() if app else nullcontext()
        try:
            with context:
                try:
                    results[index] = task(barrier.wait)
                finally:
                    if app is not None:
                        db.session.remove()
        except BaseException as error:
            errors.append(error)
            barrier.abort()  # the others would wait for this one in vain

    threads = [threading.Thread(target=run, args=(index, task)) for index, task in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start again."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
