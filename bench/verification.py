"""Benchmark of the till API: ``POST /api/v1/verify`` beside a bare Flask endpoint.

Builds a fresh PostgreSQL database (migrations, one office, one partner with an API key,
``--cards`` active cards), starts gunicorn serving the real application plus one extra
route, ``GET /bench/bare`` (a Flask view returning a small JSON document, registered only
by this benchmark's app factory), and drives both with the same clients in the same run.
Each verify request checks the next of the cards' QR codes in turn. Two measurements:

1. **Throughput** (closed loop): ``--clients`` keep-alive connections (32 by default),
   spread over a few client processes so the client's GIL does not cap the rate, each
   sending its next request when the answer arrives. Prints requests per second, p50 and
   p99, and the API's share of the bare endpoint's rate (target >= 0.5). At saturation
   latency is mostly queueing (Little's law: clients / rate), for both endpoints.
2. **Latency at a fixed rate** (open loop): the same connections send ``--rate`` requests
   per second in all, on a schedule; a request's latency counts from when it was due, so
   a stalled server is not hidden by clients that wait (coordinated omission). Prints
   p50 and p99 of both endpoints (target for the API: p99 < 20 ms).

Rate limits are counted as in production with several web processes: on Redis
(``--limits redis``, the default, at ``EHRENAMT_BENCH_REDIS_URL``), or per process
(``--limits memory``); limits are raised far above the rate so that none refuses.
Every request is a real check, recorded in the database. Run it from the project root::

    python -m bench.verification --seconds 10

The server comes from ``EHRENAMT_BENCH_DATABASE_URL`` (as for ``bench.queue``); the
database is ``ehrenamt_bench_verification``, dropped and created again at the start and
dropped at the end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
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
from sqlalchemy.engine import URL

from bench import harness
from ehrenamt import create_app
from ehrenamt.cardformat import keys as cardformat_keys
from ehrenamt.cards import lifecycle
from ehrenamt.cards import production as cards_production
from ehrenamt.cards.production import card_url
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    Card,
    CardType,
    Category,
    Partner,
    PartnerState,
    User,
    Verification,
    utcnow,
)
from ehrenamt.partners import api_keys
from ehrenamt.verification import check as verification_check
from ehrenamt.workflow import Actor

REDIS_VARIABLE = "EHRENAMT_BENCH_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
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


def server_environment(url: URL, folder: Path, limits_uri: str = "memory://") -> dict[str, str]:
    """Settings of the app under test, as ``EHRENAMT_*`` variables (also for gunicorn)."""
    return harness.ehrenamt_environment(
        {
            "RATELIMIT_STORAGE_URI": limits_uri,
            "INSTANCE_PATH": str(folder),
            "SECRET_KEY": "bench-secret-not-for-production",
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "CARD_KEYS_FOLDER": str(folder / "card-keys"),
            "BROKER_URL": "filesystem://",
            "MAIL_BACKEND": "file",
            "RATELIMIT_API_PER_PARTNER": NO_LIMIT,
            "RATELIMIT_API_PER_IP": NO_LIMIT,
            "RATELIMIT_API_FAILED_CODES": NO_LIMIT,
            "SESSION_COOKIE_SECURE": "false",
        }
    )


def prepare(app: Flask, card_count: int = 1) -> tuple[str, list[str]]:
    """Schema, a partner with a key, active cards; returns (key, the cards' QR URLs)."""
    with app.app_context():
        upgrade()
        office_id = harness.create_offices()[0]
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
        clerk = harness.clerk(office_id)
        db.session.add(clerk)
        db.session.commit()
        urls = []
        for number in range(card_count):
            card_id = create_card(office_id, clerk, number)
            assert cards_production.produce(card_id) == cards_production.Produced.MADE
            card = db.session.get_one(Card, card_id)
            urls.append(card_url(card.token or b""))
            assert verification_check.check(urls[-1]).valid
        db.session.remove()
        return key, urls


def create_card(office_id: int, clerk: User, number: int) -> int:
    """An approved application with its card waiting to be made, as approval leaves it."""
    now = utcnow()
    volunteer = harness.volunteer(number, now)
    db.session.add(volunteer)
    db.session.flush()
    application = harness.approved_application(
        volunteer.id,
        office_id,
        ("Erika", "Mustermann"),
        date(1980, 5, 17),
        CardType.STANDARD,
        now,
    )
    db.session.add(application)
    db.session.flush()
    card = lifecycle.create_for_approval(application, Acting.user_as(clerk, Actor.CLERK))
    db.session.commit()
    return card.id


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
    port: int,
    requests: list[bytes],
    expect: bytes,
    threads: int,
    seconds: float,
    interval: float | None,
    offset: int,
    out: Any,
) -> None:
    """``threads`` connections for ``seconds``; sends its latencies (seconds) to ``out``.

    Closed loop if ``interval`` is None (the next request when the answer is in), else
    open loop: each connection's requests are due every ``interval`` seconds, and a
    latency counts from when the request was due.
    """
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_at = time.monotonic() + 0.5
    stop_at = start_at + seconds

    def run(number: int) -> None:
        mine: list[float] = []
        buffer = bytearray()
        position = (offset + number) * 7
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Open loop: the connections' schedules are spread over one interval.
            due = start_at + (interval * number / threads if interval else 0.0)
            try:
                while due < stop_at:
                    if (wait := due - time.monotonic()) > 0:
                        time.sleep(wait)
                    began = due if interval else time.monotonic()
                    request = requests[position % len(requests)]
                    position += 1
                    response = _exchange(sock, request, buffer)
                    mine.append(time.monotonic() - began)
                    if not response.startswith(b"HTTP/1.1 200") or expect not in response:
                        errors.append(response[:300].decode("latin-1"))
                        return
                    due = due + interval if interval else time.monotonic()
            except OSError as error:
                errors.append(repr(error))
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=run, args=(number,)) for number in range(threads)]
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
    requests: list[bytes],
    expect: bytes,
    clients: int,
    processes: int,
    seconds: float,
    rate: float | None = None,
) -> Result:
    """Drive one endpoint with ``clients`` connections for ``seconds``: as fast as it
    answers, or at ``rate`` requests per second in all."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    interval = clients / rate if rate else None  # per connection
    children = [
        context.Process(
            target=_client_process,
            args=(port, requests, expect, share, seconds, interval, sum(shares[:i]), out),
        )
        for i, share in enumerate(shares)
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
        harness.percentile(latencies, 0.5) * 1000,
        harness.percentile(latencies, 0.99) * 1000,
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
    parser.add_argument("--cards", type=int, default=200, help="cards checked in turn")
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s of the latency phase")
    parser.add_argument("--limits", choices=["redis", "memory"], default="redis")
    parser.add_argument("--database", default="ehrenamt_bench_verification")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args(argv)


def run(url: URL, args: argparse.Namespace) -> int:
    """:func:`run_in` a temporary folder (instance folder, signing keys)."""
    prefix = "ehrenamt-bench-verification-"
    with tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True) as folder:
        return run_in(url, args, Path(folder))


def run_in(url: URL, args: argparse.Namespace, folder: Path) -> int:
    """Prepare the database, serve the app with gunicorn, drive both endpoints, print."""
    limits_uri = (
        os.environ.get(REDIS_VARIABLE, DEFAULT_REDIS_URL) if args.limits == "redis" else "memory://"
    )
    env = server_environment(url, folder, limits_uri)
    cardformat_keys.generate_key(folder / "card-keys")
    os.environ.update(env)
    key, card_urls = prepare(create_app(), args.cards)
    port = harness.free_port()
    server = harness.start_gunicorn(
        "bench.verification:serve()", port, args.workers, args.threads, env
    )
    try:
        phases = [
            ("bare Flask endpoint", [_request_bytes(port, "bare", key, "")], b'"ok":true'),
            (
                "POST /api/v1/verify",
                [_request_bytes(port, "verify", key, card_url) for card_url in card_urls],
                b'"status":"valid"',
            ),
        ]
        print(
            f"gunicorn gthread {args.workers}x{args.threads}, {args.clients} keep-alive "
            f"clients in {args.client_processes} processes, {args.seconds:.0f} s per phase, "
            f"{args.cards} cards, rate limits counted in {limits_uri}, "
            f"{os.cpu_count()} CPUs shared by server, clients, PostgreSQL and Redis"
        )
        clients = (args.clients, args.client_processes)
        for name, requests, expect in phases:  # warm-up: connections, caches, card index
            load(name, port, requests, expect, *clients, 2.0)
        print("1) throughput, closed loop")
        results = [
            load(name, port, requests, expect, *clients, args.seconds)
            for name, requests, expect in phases
        ]
        for result in results:
            print_result(result)
        bare, api = results
        ratio = api.rate / bare.rate if bare.rate else 0.0
        print(f"   ratio verify/bare: {ratio:.2f}   (target >= 0.5)")
        print(f"2) latency at {args.rate:.0f} requests/s, open loop")
        paced = [
            load(name, port, requests, expect, *clients, args.seconds, args.rate)
            for name, requests, expect in phases
        ]
        for result in paced:
            print_result(result)
        print(f"   verify p99 {paced[1].p99_ms:.1f} ms   (target < 20 ms)")
        # Stopping writes what the workers' record writers still hold (at exit).
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        app = create_app()
        with app.app_context():
            recorded = db.session.scalar(select(func.count()).select_from(Verification))
            db.session.remove()
        sent = sum(result.requests for result in (api, paced[1]))
        print(f"checks recorded in the database: {recorded} (timed phases sent {sent})")
        return 1 if any(result.errors for result in (*results, *paced)) else 0
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return harness.run_on_fresh_database(
        lambda url: run(url, args), args.keep, database=args.database
    )


if __name__ == "__main__":
    raise SystemExit(main())
