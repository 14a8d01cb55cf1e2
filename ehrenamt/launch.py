"""Run the whole service on one machine: web server, Celery worker and beat.

``python -m ehrenamt.launch`` (what ``make run`` calls) creates the instance folder, a
secret key, the database (migrations), demo data and a card signing key, picks Redis
if it answers on 127.0.0.1:6379 and otherwise a broker that needs no server, then
starts a Celery worker with beat and the web server. Ctrl-C or SIGTERM stops both. Not for
production (see README).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

from ehrenamt import ROOT

log = logging.getLogger("ehrenamt.launch")


def redis_answers(address: str) -> bool:
    """Whether a Redis server at ``host:port`` answers PING within a second."""
    if address == "none":
        return False
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1) as connection:
            connection.settimeout(1)
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_instance_config(instance: Path) -> None:
    """A random SECRET_KEY in instance/config.py, created once, readable only by us."""
    instance.mkdir(parents=True, exist_ok=True)
    config = instance / "config.py"
    if not config.exists():
        config.write_text(
            "# Local settings for trying ehrenamt out; not for production (see README).\n"
            f"SECRET_KEY = {secrets.token_hex(32)!r}\n",
            encoding="utf-8",
        )
        config.chmod(0o600)


def main() -> int:
    """Prepare, start worker and web server, and stop both cleanly."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    instance = Path(os.environ.get("EHRENAMT_INSTANCE_PATH", ROOT / "instance"))
    ensure_instance_config(instance)
    env = os.environ.copy()
    # Served over plain http on this machine only: cookies cannot be Secure here.
    env.setdefault("EHRENAMT_SESSION_COOKIE_SECURE", "false")
    env.setdefault("EHRENAMT_REMEMBER_COOKIE_SECURE", "false")
    host = env.get("EHRENAMT_HOST", "127.0.0.1")
    port = int(env.get("EHRENAMT_PORT", "5000"))
    env.setdefault("EHRENAMT_BASE_URL", f"http://{host}:{port}")
    if "EHRENAMT_BROKER_URL" not in env:
        # Where to look for a local Redis; "none" always uses the file-system broker.
        address = env.get("EHRENAMT_LOCAL_REDIS", "127.0.0.1:6379")
        if redis_answers(address):
            env["EHRENAMT_BROKER_URL"] = f"redis://{address}/0"
            log.info("broker: Redis on %s", address)
        else:
            env["EHRENAMT_BROKER_URL"] = "filesystem://"
            log.warning(
                "broker: no Redis on %s -- using the file-system broker in %s "
                "(needs no server; fine for trying it out, not for production)",
                address,
                instance / "broker",
            )
    os.environ.update(env)

    from ehrenamt import create_app
    from ehrenamt.cli import demo_credentials, seed_demo

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        seed_demo()
        ensure_card_key()
        mail_note = (
            f"E-Mails landen als Textdateien in {app.config['MAIL_FOLDER']}"
            if app.config["MAIL_BACKEND"] == "file"
            else f"E-Mails gehen per {app.config['MAIL_BACKEND']} hinaus"
        )

    # Our own handlers, whatever was inherited: a shell's background job starts us with
    # SIGINT ignored, and SIGTERM (kill, a service manager) would otherwise end us at
    # once, leaving the worker and beat running. Both end the web server like Ctrl-C.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.app:celery_app",
            "worker",
            "-B",
            "--loglevel=INFO",
            "-c",
            "2",
            "-n",
            "ehrenamt-local@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    print(
        f"\n  ehrenamt läuft auf http://{host}:{port}/\n  {mail_note}\n  Demo-Zugänge:\n"
        f"{demo_credentials()}\n  Beenden mit Strg+C\n",
        flush=True,
    )
    try:
        app.run(host=host, port=port, use_reloader=False, debug=False)
    except KeyboardInterrupt:
        pass
    finally:
        # A second signal must not cut the clean-up short and leave the worker behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_worker(worker)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """Stop the web server as Ctrl-C does (Werkzeug's server ends on KeyboardInterrupt)."""
    raise KeyboardInterrupt


def ensure_card_key() -> None:
    """A card signing key in the instance folder, made once, so demo cards can be issued."""
    from ehrenamt.cardformat import keys as cardformat_keys
    from ehrenamt.cards import keys

    try:
        keys.load_key_ring().signing_key()
    except cardformat_keys.NoSigningKey:
        key = cardformat_keys.generate_key(keys.keys_folder())
        log.info("card signing key %s created in %s", key.kid, keys.keys_folder())


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM the worker's main process (it stops its pool), then kill what is left."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
