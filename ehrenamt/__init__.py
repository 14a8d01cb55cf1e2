"""ehrenamt: the Ehrenamtskarte service."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, instance config, environment, then blueprints."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("EHRENAMT_INSTANCE_PATH", str(ROOT / "instance")),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    app.config.from_object("ehrenamt.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("EHRENAMT")
    if test_config is not None:
        app.config.from_mapping(test_config)
    _derive_settings(app)
    register_proxy(app)

    register_extensions(app)
    register_blueprints(app)
    register_cli(app)

    from ehrenamt.celery_app import celery_init_app

    celery_init_app(app)
    return app


def _derive_settings(app: Flask) -> None:
    """Fill settings whose defaults depend on the instance folder or on each other."""
    from ehrenamt.extensions import READS_BIND

    instance = Path(app.instance_path)
    config = app.config
    if not config.get("SECRET_KEY"):
        raise RuntimeError(
            "No SECRET_KEY: set EHRENAMT_SECRET_KEY, or put SECRET_KEY in instance/config.py "
            "(the launcher `python -m ehrenamt.launch` creates one for trying it out)."
        )
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        url = config.get("DATABASE_URL") or f"sqlite:///{instance / 'ehrenamt.sqlite'}"
        # Plain postgresql:// URLs mean psycopg 3, the driver we install.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        config["SQLALCHEMY_DATABASE_URI"] = url
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite serialises writers; wait for a lock instead of failing at once.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    # The same database once more, for the single-query reads of a card check: without a
    # transaction and without a ping per checkout (extensions.read_one retries instead).
    config.setdefault("SQLALCHEMY_BINDS", {})
    config["SQLALCHEMY_BINDS"].setdefault(
        READS_BIND,
        {
            **config["SQLALCHEMY_ENGINE_OPTIONS"],
            "url": config["SQLALCHEMY_DATABASE_URI"],
            "pool_pre_ping": False,
            "isolation_level": "AUTOCOMMIT",
        },
    )
    if str(config.get("RATELIMIT_STORAGE_URI") or "").startswith(("redis", "rediss", "unix")):
        # Without timeouts a hung Redis would hang every limited page (redis-py waits
        # forever); with them, Flask-Limiter falls back to per-process counters.
        config["RATELIMIT_STORAGE_OPTIONS"] = {
            "socket_connect_timeout": 1,
            "socket_timeout": 1,
            **config.get("RATELIMIT_STORAGE_OPTIONS", {}),
        }
    config.setdefault("UPLOAD_FOLDER", None)
    config["UPLOAD_FOLDER"] = config["UPLOAD_FOLDER"] or str(instance / "uploads")
    config["MAIL_FOLDER"] = config.get("MAIL_FOLDER") or str(instance / "mail")
    config["EXPORT_FOLDER"] = config.get("EXPORT_FOLDER") or str(instance / "exports")
    config["BROKER_URL"] = config.get("BROKER_URL") or "filesystem://"
    config["BROKER_FOLDER"] = config.get("BROKER_FOLDER") or str(instance / "broker")


def register_proxy(app: Flask) -> None:
    """Read the client's address, scheme and host from the reverse proxy's headers.

    Only as many proxies as TRUSTED_PROXIES are believed: each appends the address it
    saw to X-Forwarded-For, so the app takes that many from the right, and whatever a
    client wrote there itself stays to the left, unread. Without this every per-IP rate
    limit would count all users behind the proxy as one. X-Forwarded-Proto and -Host are
    set (not appended) by the nearest proxy, so one value of each is read.
    """
    proxies = app.config["TRUSTED_PROXIES"]
    if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
        raise RuntimeError(
            f"TRUSTED_PROXIES must be a whole number of proxies, 0 or more, not {proxies!r} "
            "(EHRENAMT_TRUSTED_PROXIES=1 behind one nginx)."
        )
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=1, x_host=1
        )


def register_extensions(app: Flask) -> None:
    """Bind the extension instances to this app."""
    from ehrenamt.extensions import babel, csrf, db, limiter, login_manager, migrate, select_locale
    from ehrenamt.web import access

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    access.init_login_manager(login_manager)

    from ehrenamt.web import pages

    pages.init_app(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience."""
    from ehrenamt.web.account.views import bp as account_bp
    from ehrenamt.web.admin.staff import bp as staff_bp
    from ehrenamt.web.admin.views import bp as admin_bp
    from ehrenamt.web.api.keys import bp as api_keys_bp
    from ehrenamt.web.api.views import bp as api_bp
    from ehrenamt.web.apply import drafts as _draft_routes  # noqa: F401 (adds its routes to apply)
    from ehrenamt.web.apply import paper as _paper_routes  # noqa: F401 (adds its routes to apply)
    from ehrenamt.web.apply.views import bp as apply_bp
    from ehrenamt.web.auth.passwords import bp as passwords_bp
    from ehrenamt.web.auth.views import bp as auth_bp
    from ehrenamt.web.confirm.views import bp as confirm_bp
    from ehrenamt.web.directory.views import bp as directory_bp
    from ehrenamt.web.legacy.views import bp as legacy_bp
    from ehrenamt.web.letters import print_views as _print_routes  # noqa: F401 (adds routes)
    from ehrenamt.web.letters.views import bp as letters_bp
    from ehrenamt.web.partner_admin.views import bp as partner_admin_bp
    from ehrenamt.web.partners.views import bp as partners_bp
    from ehrenamt.web.programme.views import bp as programme_bp
    from ehrenamt.web.public.views import bp as public_bp
    from ehrenamt.web.register.views import bp as register_bp
    from ehrenamt.web.review.views import bp as review_bp
    from ehrenamt.web.verify.views import bp as verify_bp
    from ehrenamt.web.wellknown.views import bp as wellknown_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(apply_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(confirm_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(register_bp)
    app.register_blueprint(legacy_bp)
    app.register_blueprint(letters_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(wellknown_bp)
    app.register_blueprint(partners_bp)
    app.register_blueprint(partner_admin_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_keys_bp)
    app.register_blueprint(passwords_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(programme_bp)


def register_cli(app: Flask) -> None:
    """``flask ehrenamt …`` commands."""
    from ehrenamt.cli import cli

    app.cli.add_command(cli)
