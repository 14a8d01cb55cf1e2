"""`make run`'s launcher: one command runs web server, worker and beat with no servers."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from ehrenamt import ROOT
from ehrenamt.cli import DEMO_ACCOUNTS
from tests.mailbox import free_port

pytestmark = pytest.mark.worker


def _start_launcher(
    tmp_path: Path, preexec_fn: Callable[[], object] | None = None
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """``python -m ehrenamt.launch`` on a free port with a fresh instance folder and no
    Redis, as a new user starts it; its output goes to the returned log file."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EHRENAMT_")}
    env.update(
        EHRENAMT_INSTANCE_PATH=str(tmp_path), EHRENAMT_PORT=str(port), EHRENAMT_LOCAL_REDIS="none"
    )
    log = tmp_path / "launch.log"
    with log.open("wb") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "ehrenamt.launch"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
    return launcher, port, log


def test_launcher_runs_web_and_worker_without_redis(tmp_path: Path) -> None:
    """Fresh instance folder, no Redis: demo data, file broker, and a mail gets written."""
    launcher, port, log = _start_launcher(tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/health", launcher, log)
        text = log.read_text()
        assert "file-system broker" in text
        assert DEMO_ACCOUNTS[0][0] in text and "Passwort" in text  # credentials printed
        assert (tmp_path / "config.py").stat().st_mode & 0o077 == 0  # secret key private
        [card_key] = (tmp_path / "card-keys").glob("*.key")  # cards can be signed
        assert card_key.stat().st_mode & 0o077 == 0
        keys = json.loads(opener_get(f"{base}/.well-known/ehrenamtskarte-keys.json"))
        assert [key["kid"] for key in keys["keys"]] == [card_key.stem]

        # A sign-in link request: web → outbox → file broker → worker → mail file.
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        form_page = opener.open(f"{base}/anmelden/link").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form_page)
        assert token
        volunteer = next(email for email, role, _ in DEMO_ACCOUNTS if role.value == "volunteer")
        body = urllib.parse.urlencode({"csrf_token": token.group(1), "email": volunteer}).encode()
        opener.open(f"{base}/anmelden/link", data=body)
        mail = _wait_for_file(tmp_path / "mail", launcher, log)
        assert volunteer in mail and f"{base}/anmelden/link/" in mail
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            code = launcher.wait(30)
        except subprocess.TimeoutExpired:
            launcher.kill()
            raise
    assert code == 0, log.read_text()[-3000:]


def opener_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
        return response.read().decode()


def _wait_until_up(
    url: str, launcher: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert launcher.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200 and b"ready." in log.read_bytes():
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("launcher did not come up:\n" + log.read_text()[-3000:])


def _wait_for_file(
    folder: Path, launcher: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.txt")) if folder.exists() else []
        if found:
            return found[0].read_text(encoding="utf-8")
        assert launcher.poll() is None, log.read_text()[-3000:]
        time.sleep(0.2)
    raise AssertionError("no mail written:\n" + log.read_text()[-3000:])


def _session_members(session_id: int) -> list[str]:
    """``pid state`` of every live process in the session (the worker's own group)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        state, session = fields[0], int(fields[3])
        if session == session_id and state != "Z":
            found.append(f"{stat.parent.name} {state}")
    return found


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("sent", "sigint_ignored"),
    [
        pytest.param(signal.SIGTERM, False, id="sigterm"),
        pytest.param(signal.SIGINT, False, id="sigint"),
        # As a non-interactive shell's background job starts it.
        pytest.param(signal.SIGINT, True, id="sigint-inherited-as-ignored"),
    ],
)
def test_a_signal_stops_the_launcher_with_its_worker_and_beat(
    tmp_path: Path, sent: signal.Signals, sigint_ignored: bool
) -> None:
    """SIGTERM (kill, a service manager) or SIGINT stops the launcher cleanly, and no
    process of its worker or beat survives it."""
    launcher, port, log = _start_launcher(
        tmp_path, preexec_fn=_ignore_sigint if sigint_ignored else None
    )
    worker_pid = None
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/health", launcher, log)
        [worker_pid] = [
            int(path.parent.name)
            for path in Path("/proc").glob("[0-9]*/stat")
            if path.read_text().rsplit(")", 1)[1].split()[1] == str(launcher.pid)
        ]
        assert len(_session_members(worker_pid)) >= 3  # worker, its pool and beat
        launcher.send_signal(sent)
        code = launcher.wait(30)
        survivors = _session_members(worker_pid)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        if worker_pid is not None:  # what the launcher left behind must not outlive us
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker_pid, signal.SIGKILL)
    assert code == 0, log.read_text()[-3000:]
    assert survivors == []
