"""The web processes' entry point (``gunicorn 'ehrenamt.wsgi:app'``) freezes the objects
of start-up, so a full garbage collection during a request no longer walks them all
(bench/retention.py: such a pause was the queue page's slowest call)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, time
import ehrenamt.wsgi
frozen = gc.get_freeze_count()
began = time.perf_counter()
gc.collect()
print(ehrenamt.wsgi.app.name, frozen, (time.perf_counter() - began) * 1000)
"""


def test_the_entry_point_makes_the_app_and_freezes_start_up_objects(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "EHRENAMT_SECRET_KEY": "test",
        "EHRENAMT_DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    name, frozen, _collect_ms = result.stdout.split()
    assert name == "ehrenamt"
    # The imports, the app, its templates and metadata: far more than a request makes.
    assert int(frozen) > 50_000
