"""Benchmark of the till API: ``POST /api/v1/verify`` beside a bare Flask endpoint.

Builds a fresh PostgreSQL database (migrations, one office, one partner with an API key,
one active card), starts gunicorn serving the real application plus one extra route,
``GET /bench/bare`` (a Flask view returning a small JSON document, registered only by this
benchmark's app factory), and drives both with the same clients in the same run:
``--clients`` keep-alive connections (32 by default), spread over a few client processes
so the client's GIL does not cap the rate. Prints requests per second, p50 and p99 of both
and the API's share of the bare endpoint's rate. Run it from the project root::

    python -m bench.verification --seconds 10

The server comes from ``EHRENAMT_BENCH_DATABASE_URL`` (as for ``bench.queue``); the
database is ``ehrenamt_bench_verification``, dropped and created again at the start and
dropped at the end unless ``--keep`` is given. Rate limits are raised through settings
for the run; every request is a real check, recorded in the database.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url

from bench.queue import create_offices, drop_database, recreate_database
from ehrenamt import ROOT, create_app
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Card,
    CardType,
    Category,
    Partner,
    PartnerState,
    User,
    UserRole,
    Verification,
    utcnow,
)
from ehrenamt.services import api_keys, cards, signing
from ehrenamt.services.audit import Acting
from ehrenamt.workflow import Actor, ApplicationState

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ehrenamt_bench"
URL_VARIABLE = "EHRENAMT_BENCH_DATABASE_URL"
#: Far above what the run reaches: the limits are not what is measured.
NO_LIMIT = "100000000 per minute"


def serve() -> Flask:
    """The gunicorn entry point: the real app, configured from the environment, plus a bare
    endpoint to compare with."""
    app = create_app()

    @app.route("/bench/bare")
    def bare() -> Any:
        return jsonify({"ok": True})

    return app


def server_environment(url: URL, folder: Path) -> dict[str, str]:
    """Settings of the app under test, as ``EHRENAMT_*`` variables (also for gunicorn)."""
    return {
        "EHRENAMT_INSTANCE_PATH": str(folder),
        "EHRENAMT_SECRET_KEY": "bench-secret-not-for-production",
        "EHRENAMT_DATABASE_URL": url.render_as_string(hide_password=False),
        "EHRENAMT_CARD_KEYS_FOLDER": str(folder / "card-keys"),
        "EHRENAMT_BROKER_URL": "filesystem://",
        "EHRENAMT_MAIL_BACKEND": "file",
        "EHRENAMT_RATELIMIT_API_PER_PARTNER": NO_LIMIT,
        "EHRENAMT_RATELIMIT_API_PER_IP": NO_LIMIT,
        "EHRENAMT_RATELIMIT_API_FAILED_CODES": NO_LIMIT,
        "EHRENAMT_SESSION_COOKIE_SECURE": "false",
    }


def prepare(app: Flask) -> tuple[str, str]:
    """Schema, a partner with a key, an active card; returns (key, card URL)."""
    with app.app_context():
        upgrade()
        office_id = create_offices()[0]
        category = Category(slug="bench", name="Bench", name_en="Bench")
        partner = Partner(
            public_id="bench-partner",
            office_id=office_id,
            state=PartnerState.APPROVED,
            name="Bench-Café",
            category=category,
            street="Markt 1",
            postcode="06844",
            town="Dessau-Roßlau",
            email="cafe@example.org",
        )
        db.session.add(partner)
        db.session.commit()
        _, key = api_keys.create_key(partner, "Bench", None)
        card_id = create_card(office_id)
        assert cards.produce(card_id) == cards.Produced.MADE
        card = db.session.get_one(Card, card_id)
        url = signing.card_url(card.token or b"")
        assert cards.check(url).valid
        db.session.remove()
        return key, url


def create_card(office_id: int) -> int:
    """An approved application with its card waiting to be made, as approval leaves it."""
    now = utcnow()
    clerk = User(
        email="clerk@example.org", role=UserRole.CLERK, office_id=office_id, display_name="Clerk"
    )
    volunteer = User(
        email="volunteer@example.org",
        role=UserRole.VOLUNTEER,
        display_name="",
        email_confirmed_at=now,
    )
    db.session.add_all([clerk, volunteer])
    db.session.flush()
    application = Application(
        public_id=secrets.token_hex(16),
        submission_key=secrets.token_hex(24),
        office_id=office_id,
        applicant_id=volunteer.id,
        state=ApplicationState.APPROVED,
        card_type=CardType.STANDARD,
        first_name="Erika",
        last_name="Mustermann",
        search_name="erika mustermann",
        birth_date=date(1980, 5, 17),
        street="Hauptstraße 1",
        postcode="06844",
        town="Dessau-Roßlau",
        consent_version="2026-01",
        consent_at=now,
        submitted_at=now,
        state_changed_at=now,
        decided_at=now,
    )
    db.session.add(application)
    db.session.flush()
    card = cards.create_for_approval(application, Acting.user_as(clerk, Actor.CLERK))
    db.session.commit()
    return card.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    port: int, workers: int, threads: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """gunicorn with threaded workers (they keep connections alive, unlike sync ones)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        "bench.verification:serve()",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited at start") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


# --- the clients ---------------------------------------------------------------------------


def _request_bytes(port: int, target: str, key: str, card_url: str) -> bytes:
    if target == "bare":
        return f"GET /bench/bare HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    body = json.dumps({"code": card_url}).encode()
    head = (
        f"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _exchange(sock: socket.socket, request: bytes, buffer: bytearray) -> bytes:
    """Send one request, read one response (keep-alive, Content-Length framing)."""
    sock.sendall(request)
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer.extend(chunk)
    head = bytes(buffer[:end]).decode("latin-1")
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    total = end + 4 + length
    while len(buffer) < total:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer.extend(chunk)
    response = bytes(buffer[:total])
    del buffer[:total]
    return response


def _client_process(
    port: int, request: bytes, expect: bytes, threads: int, seconds: float, out: Any
) -> None:
    """``threads`` connections for ``seconds``; sends its latencies (seconds) to ``out``."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_at = time.monotonic() + 0.5
    stop_at = start_at + seconds

    def run() -> None:
        mine: list[float] = []
        buffer = bytearray()
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while time.monotonic() < start_at:
                time.sleep(0.005)
            try:
                while (began := time.perf_counter()) and time.monotonic() < stop_at:
                    response = _exchange(sock, request, buffer)
                    mine.append(time.perf_counter() - began)
                    if not response.startswith(b"HTTP/1.1 200") or expect not in response:
                        errors.append(response[:300].decode("latin-1"))
                        return
            except OSError as error:
                errors.append(repr(error))
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((latencies, errors[:3]))


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: list[str]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def load(
    name: str,
    port: int,
    request: bytes,
    expect: bytes,
    clients: int,
    processes: int,
    seconds: float,
) -> Result:
    """Drive one endpoint with ``clients`` connections for ``seconds``."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    children = [
        context.Process(target=_client_process, args=(port, request, expect, share, seconds, out))
        for share in shares
        if share
    ]
    for child in children:
        child.start()
    latencies: list[float] = []
    errors: list[str] = []
    for _ in children:
        got, failed = out.get()
        latencies.extend(got)
        errors.extend(failed)
    for child in children:
        child.join()
    latencies.sort()
    if not latencies:
        return Result(name, 0, seconds, 0.0, 0.0, errors)
    return Result(
        name,
        len(latencies),
        seconds,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        errors,
    )


def print_result(result: Result) -> None:
    print(
        f"{result.name:<22} {result.rate:>9.0f} req/s   p50 {result.p50_ms:6.2f} ms   "
        f"p99 {result.p99_ms:6.2f} ms   ({result.requests} requests)"
    )
    for error in result.errors:
        print(f"   error: {error!r}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--database", default="ehrenamt_bench_verification")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    url = make_url(os.environ.get(URL_VARIABLE, DEFAULT_URL)).set(database=args.database)
    folder = Path(tempfile.mkdtemp(prefix="ehrenamt-bench-verification-"))
    recreate_database(url)
    env = server_environment(url, folder)
    server: subprocess.Popen[bytes] | None = None
    try:
        signing.generate_key(folder / "card-keys")
        os.environ.update(env)
        key, card_url = prepare(create_app())
        port = free_port()
        server = start_gunicorn(port, args.workers, args.threads, env)
        verify_request = _request_bytes(port, "verify", key, card_url)
        bare_request = _request_bytes(port, "bare", key, card_url)
        phases = [
            ("bare Flask endpoint", bare_request, b'"ok":true'),
            ("POST /api/v1/verify", verify_request, b'"status":"valid"'),
        ]
        print(
            f"gunicorn gthread {args.workers}x{args.threads}, {args.clients} keep-alive "
            f"clients in {args.client_processes} processes, {args.seconds:.0f} s per phase, "
            f"{os.cpu_count()} CPUs shared by server, clients and PostgreSQL"
        )
        for name, request, expect in phases:  # warm-up: connections, caches, JIT-free imports
            load(name, port, request, expect, args.clients, args.client_processes, 1.0)
        results = [
            load(name, port, request, expect, args.clients, args.client_processes, args.seconds)
            for name, request, expect in phases
        ]
        for result in results:
            print_result(result)
        bare, api = results
        ratio = api.rate / bare.rate if bare.rate else 0.0
        print(f"ratio verify/bare: {ratio:.2f}   (target >= 0.5; p99 target < 20 ms)")
        app = create_app()
        with app.app_context():
            recorded = db.session.scalar(select(func.count()).select_from(Verification))
            db.session.remove()
        print(f"checks recorded in the database: {recorded}")
        if any(result.errors for result in results):
            return 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        from ehrenamt.extensions import db as database

        for engines in list(database._app_engines.values()):
            for engine in engines.values():
                engine.dispose()
        if not args.keep:
            drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
