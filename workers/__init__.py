"""Celery worker entry point and thin tasks; see workers/app.py."""
