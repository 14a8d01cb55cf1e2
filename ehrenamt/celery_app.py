"""Celery wired the Flask way: every task runs inside the application context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery, Task
from flask import Flask


def celery_config(app: Flask) -> dict[str, Any]:
    """Celery settings derived from the app's configuration."""
    broker_url: str = app.config["BROKER_URL"]
    config: dict[str, Any] = {
        "broker_url": broker_url,
        "task_ignore_result": True,
        "result_backend": None,
        # A task is acknowledged after it ran, so a worker that dies mid-task leaves the
        # message to be delivered again; tasks are idempotent for that reason.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": app.config["WORKER_PREFETCH_MULTIPLIER"],
        "task_default_queue": app.config["CELERY_QUEUE"],
        # No remote control (broadcast commands, `celery inspect`): the service uses none,
        # and its pub/sub channel is what kombu fails to re-open after a broker outage
        # ("Unrecoverable error: ... no attribute 'hostname'"), which ends the worker.
        "worker_enable_remote_control": False,
        # Publishing must not hang a web request when the broker is down: the outbox
        # keeps the message and the dispatcher sends it later.
        "broker_connection_timeout": 2,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry_policy": {
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "beat_schedule": {
            "dispatch-outbox": {
                "task": "ehrenamt.dispatch_outbox",
                "schedule": app.config["OUTBOX_DISPATCH_INTERVAL_SECONDS"],
            },
            "remind-organisations": {
                "task": "ehrenamt.remind_organisations",
                "schedule": app.config["REMINDER_INTERVAL_SECONDS"],
            },
            "expire-cards": {
                "task": "ehrenamt.expire_cards",
                "schedule": app.config["CARD_JOBS_INTERVAL_SECONDS"],
            },
            "remind-card-holders": {
                "task": "ehrenamt.remind_card_holders",
                "schedule": app.config["CARD_JOBS_INTERVAL_SECONDS"],
            },
            "issue-pending-cards": {
                "task": "ehrenamt.issue_pending_cards",
                "schedule": app.config["CARD_JOBS_INTERVAL_SECONDS"],
            },
            # Every retention period: check records, unclaimed uploads, applications, letters,
            # print runs, exports, e-mail changes, name change requests...
            "apply-retention": {
                "task": "ehrenamt.apply_retention",
                "schedule": app.config["RETENTION_INTERVAL_SECONDS"],
            },
            # Twice per lifetime of the kept figures: the page never computes them itself.
            "refresh-statistics": {
                "task": "ehrenamt.refresh_statistics",
                "schedule": app.config["STATISTICS_MAX_AGE_SECONDS"] / 2,
            },
        },
        "timezone": "Europe/Berlin",
        "worker_hijack_root_logger": False,
    }
    if broker_url.startswith("filesystem://"):
        folder = Path(app.config["BROKER_FOLDER"])
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        config["broker_transport_options"] = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        }
        config["beat_schedule_filename"] = str(folder / "beat-schedule")
    else:
        config["broker_transport_options"] = {
            "visibility_timeout": app.config["BROKER_VISIBILITY_TIMEOUT"],
            "socket_connect_timeout": 1,
            "socket_timeout": 5,
        }
        config["beat_schedule_filename"] = str(Path(app.instance_path) / "celerybeat-schedule")
    config.update(app.config["CELERY"])
    return config


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app bound to ``app`` and store it in ``app.extensions``."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_config(app))
    # No set_default(): tasks are sent by name and workers are given their app, so no
    # process-wide default is needed; with several apps in one process (the tests) a
    # default would silently route the last app's settings into the others' tasks.
    app.extensions["celery"] = celery_app
    return celery_app
