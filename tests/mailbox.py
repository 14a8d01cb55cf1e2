"""A real SMTP server for tests (aiosmtpd), and what arrived at it."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://[^\s\"'<>]+")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self, hostname: str = "127.0.0.1") -> None:
        """``hostname``: the address to listen on (another than loopback for workers in
        other network namespaces, tests/test_hosts.py)."""
        self.messages: list[EmailMessage] = []
        #: When each of ``messages`` arrived (time.monotonic()), in the same order.
        self.arrived_at: list[float] = []
        self._changed = threading.Condition()
        self.port = free_port()
        self._controller = Controller(self, hostname=hostname, port=self.port)
        self._stalls = 0
        self._accept_stalled = False
        self._released = threading.Event()
        self._held = threading.Event()
        #: Seconds the server waits before answering QUIT, as an overloaded one does.
        self.quit_delay = 0.0

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @contextmanager
    def stalling(self, count: int = 1, *, accept: bool = False) -> Iterator[threading.Event]:
        """Hold the next ``count`` messages after DATA, unanswered, until the block ends,
        as a hung mail server does. Yields an event set once one is held. Held messages
        are then stored and accepted if ``accept``, else refused (451) and not stored."""
        self._released.clear()
        self._held.clear()
        self._stalls, self._accept_stalled = count, accept
        try:
            yield self._held
        finally:
            self._stalls = 0
            self._released.set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._stalls > 0:
            self._stalls -= 1
            self._held.set()
            while not self._released.is_set():  # polled: the SMTP server's loop runs on
                await asyncio.sleep(0.05)
            if not self._accept_stalled:
                return "451 Requested action aborted: try again later"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._changed:
            self.messages.append(message)  # type: ignore[arg-type]
            self.arrived_at.append(time.monotonic())
            self._changed.notify_all()
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.quit_delay)
        return "221 Bye"

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()
            self.arrived_at.clear()

    def wait_for(
        self,
        to: str | None = None,
        subject: str | None = None,
        count: int = 1,
        timeout: float = 15.0,
    ) -> list[EmailMessage]:
        """Wait until ``count`` messages match (recipient, words in the subject)."""

        def matching() -> list[EmailMessage]:
            return [
                m
                for m in self.messages
                if (to is None or to.lower() in str(m["To"]).lower())
                and (subject is None or subject.lower() in str(m["Subject"]).lower())
            ]

        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := matching()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(str(m["To"]), str(m["Subject"])) for m in self.messages]
                    raise AssertionError(
                        f"expected {count} mail(s) to={to!r} subject~{subject!r}; got {seen}"
                    )
                self._changed.wait(remaining)
            return found

    def matching(self, predicate: Callable[[EmailMessage], bool]) -> list[EmailMessage]:
        with self._changed:
            return [m for m in self.messages if predicate(m)]


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "mail has no text part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "mail has no HTML part"
    return str(part.get_content())


def links_in(message: EmailMessage) -> list[str]:
    """Every URL in the text part."""
    return LINK.findall(text_of(message))


def path_of(url: str) -> str:
    """The path of a URL, for the test client."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
