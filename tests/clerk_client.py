"""A clerk's browser over plain HTTP, for tests/test_hosts.py: cookies, CSRF tokens,
signing in with password and TOTP, and approving an application as the review page does.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import pyotp

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
#: The approve form's action; the page shows it only while approving is possible.
APPROVE = "/bewilligen"
SAVED = "Gespeichert."


class Unavailable(Exception):
    """The request got no usable answer (refused, timed out, a 5xx): try again."""


@dataclass
class Response:
    """Status, headers (lower-case names) and body text of one answer."""

    status: int
    headers: dict[str, str]
    text: str


@dataclass
class ClerkBrowser:
    """One clerk: cookies shared by every web host (they share the secret key)."""

    email: str
    password: str
    totp_secret: str
    cookies: dict[str, str] = field(default_factory=dict)
    #: Requests that got no usable answer and were tried again.
    failures: int = 0
    #: Set when the test ends: a clerk still trying gives up.
    stop: threading.Event = field(default_factory=threading.Event)
    #: A clerk gives up on one application after this many seconds of failures.
    patience: float = 300.0

    def request(
        self, host: str, method: str, path: str, form: dict[str, str] | None = None
    ) -> Response:
        """One request to ``host`` (address:port); raises :class:`Unavailable`."""
        address, port = host.rsplit(":", 1)
        connection = http.client.HTTPConnection(address, int(port), timeout=60)
        headers = {"Referer": f"http://{host}{path}"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body, headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
        except OSError as error:
            raise Unavailable(f"{method} {host}{path}: {error!r}") from error
        finally:
            connection.close()
        for value in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        if answer.status >= 500:
            raise Unavailable(f"{method} {host}{path}: {answer.status}")
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, text)

    def post_form(self, host: str, page: str, path: str, data: dict[str, str]) -> Response:
        """Load ``page`` for its CSRF token, then POST ``data`` to ``path``."""
        loaded = self.request(host, "GET", page)
        found = CSRF.search(loaded.text)
        if found is None:
            raise Unavailable(f"no CSRF token on {page} ({loaded.status})")
        return self.request(host, "POST", path, {"csrf_token": found.group(1), **data})

    def sign_in(self, host: str) -> None:
        """Password, then the second factor, as at a clerk's desk."""
        signed = self.post_form(
            host, "/anmelden", "/anmelden", {"email": self.email, "password": self.password}
        )
        assert signed.status == 302, signed.text[:2000]
        page = "/anmelden/zweiter-faktor"
        code = pyotp.TOTP(self.totp_secret).now()
        second = self.post_form(host, page, page, {"code": code})
        assert second.status == 302, second.text[:2000]

    def approve(self, hosts: list[str], public_id: str) -> tuple[str, float]:
        """Approve the application, retrying on another web host while one fails, as a
        clerk reloads the page. Returns ("saved", when the server said so) or
        ("found", when) if the page already showed it decided (an earlier attempt whose
        answer was lost had gone through)."""
        page = f"/verwaltung/antrag/{public_id}"
        attempt = 0
        deadline = time.monotonic() + self.patience
        while not self.stop.is_set():
            host = hosts[attempt % len(hosts)]
            attempt += 1
            try:
                detail = self.request(host, "GET", page)
                assert detail.status == 200, (detail.status, detail.text[:2000])
                if APPROVE not in detail.text:
                    return "found", time.monotonic()
                version = VERSION.search(detail.text)
                csrf = CSRF.search(detail.text)
                assert version and csrf, detail.text[:2000]
                form = {"csrf_token": csrf.group(1), "version": version.group(1), "note": ""}
                answer = self.request(host, "POST", page + APPROVE, form)
                assert answer.status == 302, (answer.status, answer.text[:2000])
                # The decision's outcome is flashed on the page the redirect leads to.
                shown = self.request(host, "GET", page)
                if SAVED in shown.text:
                    return "saved", time.monotonic()
            except Unavailable:
                self.failures += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        raise Unavailable("the test ended")
