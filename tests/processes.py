"""Real servers and worker processes that tests start and stop themselves.

A test that stops Redis or kills a worker must not disturb the shared ones, so it gets
a private redis-server and a Celery worker process on a queue of its own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask

from ehrenamt import ROOT
from tests.mailbox import free_port


class RedisServer:
    """A private redis-server on a fixed free port that a test can stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


def settings_for(app: Flask, **overrides: object) -> dict[str, object]:
    """The test app's settings with some changed (same database, SMTP server, keys)."""
    keys = (
        "SECRET_KEY",
        "DATABASE_URL",
        "MAIL_BACKEND",
        "MAIL_SERVER",
        "MAIL_PORT",
        "MAIL_TIMEOUT",
        "UPLOAD_FOLDER",
        "CARD_KEYS_FOLDER",
        "BASE_URL",
        "SESSION_COOKIE_SECURE",
    )
    settings: dict[str, object] = {key: app.config[key] for key in keys}
    settings["TESTING"] = True
    settings.update(overrides)
    return settings


def process_environment(settings: dict[str, object], instance: Path) -> dict[str, str]:
    """This process's environment with ``settings`` as the only ``EHRENAMT_*`` variables
    (JSON where not a string, as the app parses them), for an app in another process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHRENAMT_")}
    for key, value in settings.items():
        env[f"EHRENAMT_{key}"] = value if isinstance(value, str) else json.dumps(value)
    env["EHRENAMT_INSTANCE_PATH"] = str(instance)
    return env


class WorkerProcess:
    """``celery worker`` of the project's app in its own process group, on its own queue."""

    def __init__(
        self,
        app: Flask,
        broker_url: str,
        folder: Path,
        *,
        queue: str | None = None,
        beat: bool = False,
        pool: str = "threads",
        concurrency: int = 2,
        **settings: object,
    ) -> None:
        self.queue = queue or f"test-{os.getpid()}-{time.monotonic_ns()}"
        env = process_environment(
            settings_for(app, BROKER_URL=broker_url, CELERY_QUEUE=self.queue, **settings), folder
        )
        self.log = folder / f"worker-{time.monotonic_ns()}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.app:celery_app",
            "worker",
            f"--pool={pool}",
            "-c",
            str(concurrency),
            "-Q",
            self.queue,
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
            "-n",
            f"{self.queue}-{time.monotonic_ns()}@%h",
        ]
        if beat:
            command.insert(command.index("worker") + 1, "-B")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for_log("ready.")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until the worker has logged ``text``."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            assert self.process.poll() is None, self.log_text()
            assert time.monotonic() < deadline, self.log_text()
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool): no cleanup, no acks."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """Warm shutdown, or kill if it does not end."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()
