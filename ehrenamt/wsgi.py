"""The web processes' entry point: ``gunicorn -w 4 'ehrenamt.wsgi:app'``.

After the app is made, :func:`gc.freeze` moves every object that exists then (modules,
the app, its templates and metadata, about 170,000 objects) into the collector's
permanent generation. They live as long as the process, and a full collection that
walks them all took 60-90 ms in the middle of a request (bench/retention.py: the queue
page's slowest call while the retention job ran was such a pause, not the job).
"""

from __future__ import annotations

import gc

from ehrenamt import create_app

app = create_app()
gc.collect()
gc.freeze()
