"""A real nginx with the documented site file (docs/nginx.conf) in front of gunicorn
serving the app, for tests/test_proxy.py; and a client that reaches it from an address
of its choice.

Linux routes all of 127.0.0.0/8 to the loopback device, so a client socket bound to
127.0.0.2 reaches nginx from that address, and nginx itself writes it into
X-Forwarded-For: two clients differ the way two people on the internet do, and the
production path runs unchanged (no test-only header trusted by nginx).
"""

from __future__ import annotations

import datetime
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask, jsonify, request

from ehrenamt import ROOT, create_app
from tests.mailbox import free_port

NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(path, os.X_OK)), None
)
SITE = ROOT / "docs" / "nginx.conf"
#: The documented public name; the certificate and every request (SNI, Host) use it.
SERVER_NAME = "ehrenamtskarte.example.de"


def proxied_app(settings: dict[str, object] | None = None) -> Flask:
    """The app, plus a page that says what the app sees of the client. gunicorn loads it
    with the settings in the environment the test sets."""
    app = create_app(settings)

    def whoami():  # type: ignore[no-untyped-def]
        return jsonify(remote_addr=request.remote_addr, scheme=request.scheme, host=request.host)

    app.add_url_rule("/_proxy-test/whoami", view_func=whoami)
    return app


@dataclass
class Proxy:
    """nginx in front of gunicorn; ``https_port`` is where clients connect."""

    https_port: int
    cafile: Path
    folder: Path

    def client(self, address: str) -> Client:
        """A client whose connections come from ``address`` (127.x.y.z)."""
        return Client(self, address)


class Client:
    """A browser of one person: its own source address and its own cookies."""

    def __init__(self, proxy: Proxy, address: str) -> None:
        self.proxy = proxy
        self.address = address
        self.cookies: dict[str, str] = {}
        self.context = ssl.create_default_context(cafile=str(proxy.cafile))

    @property
    def origin(self) -> str:
        return f"https://{SERVER_NAME}:{self.proxy.https_port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        send_body: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of one request through nginx.

        With ``send_body=False`` only the headers go out (Content-Length announcing the
        body), as a client does before the body of a large upload.
        """
        raw = socket.create_connection(
            ("127.0.0.1", self.proxy.https_port), timeout=30, source_address=(self.address, 0)
        )
        with self.context.wrap_socket(raw, server_hostname=SERVER_NAME) as sock:
            connection = http.client.HTTPSConnection(SERVER_NAME, self.proxy.https_port)
            connection.sock = sock
            connection.putrequest(method, path, skip_accept_encoding=True)
            all_headers = {"Referer": self.origin + path, **(headers or {})}
            if self.cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if body is not None:
                all_headers["Content-Length"] = str(len(body))
            for name, value in all_headers.items():
                connection.putheader(name, value)
            connection.endheaders(body if body is not None and send_body else None)
            response = connection.getresponse()
            content = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content

    def fail_login(self, headers: dict[str, str] | None = None) -> int:
        """Sign in with an unknown address (a new one each time, so only the limit per
        client address counts, not the one per e-mail address); the status."""
        status, _headers, page = self.request("GET", "/anmelden")
        assert status == 200
        found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found, page[:500]
        form = {
            "csrf_token": found.group(1).decode(),
            "email": f"nobody-{uuid.uuid4().hex[:8]}@example.org",
            "password": "wrong password",
        }
        body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        status, _headers, _page = self.request(
            "POST",
            "/anmelden",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        return status


def _make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for SERVER_NAME and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def _site_config(cert: Path, key: Path, http_port: int, https_port: int, app_port: int) -> str:
    """docs/nginx.conf with each ``deployment:`` line changed for this machine; each change
    must match exactly once, so the test notices when the documented file changes."""
    site = SITE.read_text(encoding="utf-8")
    changes = [
        (r"server 127\.0\.0\.1:8000 ", f"server 127.0.0.1:{app_port} ", 1),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};", 1),
        (r"listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl", 2),
        (r"ssl_certificate /\S+;", f"ssl_certificate {cert};", 1),
        (r"ssl_certificate_key /\S+;", f"ssl_certificate_key {key};", 1),
    ]
    for pattern, replacement, count in changes:
        site, made = re.subn(pattern, replacement, site)
        assert made == count, f"{SITE}: expected {count} of {pattern!r}, found {made}"
    return site


def _main_config(folder: Path, site: Path) -> str:
    """nginx.conf around the site: in the foreground, every file in ``folder``."""
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    # Started as root, nginx's workers would run as nobody, who cannot enter pytest's
    # private temporary folder.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log {folder / "access.log"};
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {site};
}}
"""


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (nginx and its worker, gunicorn and its worker)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@contextmanager
def serve_behind_nginx(nginx: str, environment: dict[str, str], folder: Path) -> Iterator[Proxy]:
    """gunicorn serving :func:`proxied_app` with ``environment``, behind nginx with
    docs/nginx.conf, on free ports; their files and logs in ``folder``."""
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    gunicorn_log = folder / "gunicorn.log"
    with gunicorn_log.open("wb") as out:
        gunicorn = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4"),
                *("-b", f"127.0.0.1:{app_port}", "tests.reverse_proxy:proxied_app()"),
            ],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_port(app_port, gunicorn, gunicorn_log)
        cert, key = _make_certificate(folder)
        site = folder / "site.conf"
        site.write_text(_site_config(cert, key, http_port, https_port, app_port))
        config = folder / "nginx.conf"
        config.write_text(_main_config(folder, site))
        nginx_log = folder / "nginx.log"
        with nginx_log.open("wb") as out:
            process = subprocess.Popen(
                [nginx, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for_port(https_port, process, nginx_log)
            yield Proxy(https_port=https_port, cafile=cert, folder=folder)
        finally:
            _stop(process)
    finally:
        _stop(gunicorn)
