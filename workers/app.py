"""The worker's entry point: ``celery -A workers.app:celery_app worker -B``."""

from ehrenamt import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

import workers.tasks  # noqa: E402,F401  (registers the tasks)
