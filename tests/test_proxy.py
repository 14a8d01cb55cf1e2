"""Behind a real nginx: docs/nginx.conf in front of gunicorn serving the app, started by
the test (tests/reverse_proxy.py says how), with ``EHRENAMT_TRUSTED_PROXIES=1`` on the
session's test database. Clients come from addresses of their own (127.0.0.2, …).

Run alone with ``-m proxy``. Skipped when nginx is not installed, unless CI is set:
`.ci/run` installs it, so there a missing nginx fails.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from ehrenamt import create_app
from ehrenamt.config import MAX_CONTENT_LENGTH
from tests.processes import process_environment, settings_for
from tests.reverse_proxy import (
    NGINX,
    SERVER_NAME,
    SITE,
    Proxy,
    proxied_app,
    serve_behind_nginx,
)

#: The app's largest request in these tests: below nginx's limit, so that a body between
#: the two passes the proxy and is refused by the app.
APP_MAX_CONTENT_LENGTH = 1024 * 1024
#: A small login limit, so a test reaches it in a few requests.
LOGIN_LIMIT = 3


def behind_nginx(test: Callable[..., None]) -> Callable[..., None]:
    """Mark a test that runs through nginx: ``proxy``, and skipped without nginx, unless
    CI is set (`.ci/run` installs nginx, so there a missing one fails, in the fixture)."""
    skip = pytest.mark.skipif(
        NGINX is None and not os.environ.get("CI"),
        reason="nginx is not installed (apt-get install nginx; .ci/run installs it in CI)",
    )
    return pytest.mark.proxy(skip(test))


@pytest.fixture(scope="module")
def proxy(session_app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """nginx (docs/nginx.conf) → gunicorn → the app, on free ports."""
    if NGINX is None:
        pytest.fail("CI is set but nginx is not installed: .ci/run should have installed it")
    folder = tmp_path_factory.mktemp("proxy")
    settings = settings_for(
        session_app,
        TRUSTED_PROXIES=1,
        SESSION_COOKIE_SECURE=True,
        MAX_CONTENT_LENGTH=APP_MAX_CONTENT_LENGTH,
        RATELIMIT_LOGIN=f"{LOGIN_LIMIT} per minute",
    )
    with serve_behind_nginx(NGINX, process_environment(settings, folder), folder) as proxy:
        yield proxy


@behind_nginx
def test_the_app_sees_the_client_not_the_proxy_nor_what_the_client_claims(
    proxy: Proxy, app: Flask
) -> None:
    client = proxy.client("127.0.0.2")

    status, _headers, body = client.request(
        "GET", "/_proxy-test/whoami", headers={"X-Forwarded-For": "203.0.113.7"}
    )

    assert status == 200
    assert json.loads(body) == {
        "remote_addr": "127.0.0.2",
        "scheme": "https",
        "host": f"{SERVER_NAME}:{proxy.https_port}",
    }


@behind_nginx
def test_rate_limits_count_each_client_behind_the_proxy(proxy: Proxy, app: Flask) -> None:
    first, second = proxy.client("127.0.0.3"), proxy.client("127.0.0.4")

    statuses = [first.fail_login() for _ in range(LOGIN_LIMIT + 1)]

    assert statuses == [200] * LOGIN_LIMIT + [429]
    assert second.fail_login() == 200


@behind_nginx
def test_a_forged_forwarded_for_does_not_escape_the_limit(proxy: Proxy, app: Flask) -> None:
    client = proxy.client("127.0.0.5")

    statuses = [
        client.fail_login(headers={"X-Forwarded-For": f"198.51.100.{attempt}"})
        for attempt in range(1, LOGIN_LIMIT + 2)
    ]

    assert statuses == [200] * LOGIN_LIMIT + [429]


@behind_nginx
def test_https_answers_carry_hsts_also_errors(proxy: Proxy, app: Flask) -> None:
    client = proxy.client("127.0.0.6")

    for path, expected in (("/", 200), ("/gibt-es-nicht", 404)):
        status, headers, _body = client.request("GET", path)
        assert status == expected
        assert headers["strict-transport-security"].startswith("max-age=63072000")


@behind_nginx
def test_nginx_refuses_a_body_larger_than_the_app_accepts(proxy: Proxy, app: Flask) -> None:
    limit = re.search(r"client_max_body_size (\d+)m;", SITE.read_text(encoding="utf-8"))
    assert limit, "docs/nginx.conf sets no client_max_body_size in MiB"
    assert int(limit.group(1)) * 1024 * 1024 == MAX_CONTENT_LENGTH
    client = proxy.client("127.0.0.7")

    status, headers, body = client.request(
        "POST", "/anmelden", b"x" * (MAX_CONTENT_LENGTH + 1), send_body=False
    )

    assert status == 413
    assert headers["server"].startswith("nginx")
    assert b"<center>nginx" in body  # nginx's own page: the app never saw the request


@behind_nginx
def test_the_app_refuses_a_body_the_proxy_let_through(proxy: Proxy, app: Flask) -> None:
    client = proxy.client("127.0.0.8")
    boundary = "proxytest"
    upload = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="proof"; '
            'filename="proof.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + b"%PDF-"
        + b"x" * APP_MAX_CONTENT_LENGTH
        + f"\r\n--{boundary}--\r\n".encode()
    )

    status, _headers, body = client.request(
        "POST",
        "/anmelden",
        upload,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert status == 413
    assert "Zu große Datei" in body.decode()


def test_without_trusted_proxies_forwarded_headers_are_ignored(
    app: Flask, session_app: Flask
) -> None:
    direct = proxied_app(settings_for(session_app)).test_client()

    seen = direct.get(
        "/_proxy-test/whoami",
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
        headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
    ).get_json()

    assert (seen["remote_addr"], seen["scheme"]) == ("192.0.2.10", "http")


@pytest.mark.parametrize("value", ["one", -1, True, 1.5])
def test_a_bad_number_of_trusted_proxies_stops_the_start(
    app: Flask, session_app: Flask, value: object
) -> None:
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES must be a whole number"):
        create_app(settings_for(session_app, TRUSTED_PROXIES=value))
