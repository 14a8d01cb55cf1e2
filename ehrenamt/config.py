"""Default settings.

The order of precedence is: these defaults, then ``instance/config.py``, then environment
variables prefixed with ``EHRENAMT_`` (``EHRENAMT_DATABASE_URL=...``), then the
``test_config`` handed to :func:`ehrenamt.create_app`. Values from the environment are
parsed as JSON where possible, so ``EHRENAMT_MAIL_PORT=587`` is an int and
``EHRENAMT_SESSION_COOKIE_SECURE=false`` a bool.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

#: Signs sessions and CSRF tokens. Must come from the environment in production; the
#: launcher creates a random one in ``instance/`` for trying the service out.
SECRET_KEY: str | None = None

#: SQLAlchemy URL of the database. ``None`` means SQLite in the instance folder.
DATABASE_URL: str | None = None
#: Flask-SQLAlchemy's engine options for DATABASE_URL (replaced for SQLite by a lock wait).
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

#: Celery broker. ``None`` means kombu's filesystem transport in the instance folder,
#: which needs no server (good for trying it out, not for production).
BROKER_URL: str | None = None
#: Folder of the filesystem broker (BROKER_URL ``filesystem://``); ``None`` means
#: ``instance/broker``.
BROKER_FOLDER: str | None = None
#: Seconds after which a message a dead worker held is handed out again (Redis broker).
#: Must exceed the longest task plus the longest retry delay (a retry waiting for its
#: time is held unacknowledged too), or healthy tasks would run twice: tasks take
#: seconds (a card about 0.1 s, a mail at most a few SMTP timeouts) and retries wait at
#: most 10 minutes (RETRY_BACKOFF_MAX in workers/tasks.py).
BROKER_VISIBILITY_TIMEOUT = 900
#: Messages each worker process reserves ahead (Celery's worker_prefetch_multiplier).
#: One: a worker that dies holds no more than the task it runs. (bench/issuing.py with
#: 4 measured 0.76-0.88 of the loop rate against 0.76-0.80 with 1: within the noise.)
WORKER_PREFETCH_MULTIPLIER = 1
#: Name of the Celery queue tasks are sent to and workers consume (one per deployment
#: sharing a broker).
CELERY_QUEUE = "ehrenamt"
#: More Celery settings by Celery's own lower-case names, applied over the derived ones,
#: e.g. ``{"worker_prefetch_multiplier": 4}``. Only read, never changed in place.
CELERY: dict[str, Any] = {}

#: Reverse proxies in front of the app that append the client's address to
#: X-Forwarded-For (1 behind one nginx, docs/nginx.conf); 0 reads no forwarded header.
TRUSTED_PROXIES = 0

#: Where rate-limit counters live; ``redis://…`` when several web processes run.
RATELIMIT_STORAGE_URI = "memory://"
#: Whether responses carry the X-RateLimit-* headers (Flask-Limiter).
RATELIMIT_HEADERS_ENABLED = True
#: While RATELIMIT_STORAGE_URI cannot be reached, each web process counts the pages'
#: limits in its own memory (logged once per outage) instead of answering 500: a cache
#: outage must neither lock everybody out nor switch the limits off (Flask-Limiter).
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
#: Options of the rate-limit storage (Flask-Limiter); for Redis, connect and read
#: timeouts of one second are added unless given, so a hung Redis cannot hang the pages.
RATELIMIT_STORAGE_OPTIONS: dict[str, Any] = {}
#: Rate limits of the pages, in Flask-Limiter's notation ("N per minute; M per hour"):
#: password sign-in (per client IP address, and per e-mail address tried),
RATELIMIT_LOGIN = "10 per minute; 50 per hour"
#: sign-in links and e-mail confirmation links (requesting and using them; per IP address,
#: and requests per e-mail address),
RATELIMIT_MAGIC_LINK = "5 per minute; 20 per hour"
#: an organisation's confirmation page (per IP address),
RATELIMIT_CONFIRMATION = "30 per minute"
#: checks on the partner's scan page ``/pruefen/`` (per IP address, and per partner).
RATELIMIT_VERIFY_PAGE = "60 per minute"
#: sending the application form, each file chosen included (per IP address).
RATELIMIT_APPLICATION_FORM = "10 per minute; 60 per hour"
#: a volunteer asking to change their e-mail address (per account): each request mails
#: a stranger's address, so it must not become a way to send mail.
RATELIMIT_EMAIL_CHANGE = "3 per hour; 10 per day"
#: a partner asking for a new link to confirm its address (per account): each one mails
#: the address typed at registration, which may be a stranger's.
RATELIMIT_PARTNER_CONFIRMATION = "3 per hour; 10 per day"
#: the application form's live check of the office's rules while typing (per IP address);
#: its script asks at most once per pause in typing.
RATELIMIT_ELIGIBILITY_CHECK = "60 per minute"
#: saving the application form as a draft (per IP address): each save mails a link to the
#: address typed in, so it must not become a way to send mail.
RATELIMIT_DRAFT = "5 per minute; 30 per hour"

#: argon2id cost of password hashes: passes over memory (argon2-cffi's default, RFC 9106's
#: second recommendation),
PASSWORD_HASH_TIME_COST = 3
#: memory in KiB (64 MiB),
PASSWORD_HASH_MEMORY_COST = 65536
#: and lanes. Existing hashes keep their own cost; the tests set the smallest cost.
PASSWORD_HASH_PARALLELISM = 4

#: Absolute URL under which the service is reached; used in e-mails sent by workers.
BASE_URL = "http://127.0.0.1:5000"

#: E-mail: "smtp" sends through MAIL_SERVER; "file" writes .eml files to MAIL_FOLDER
#: (the default for trying it out), "console" prints them to the worker's log.
MAIL_BACKEND = "file"
#: SMTP relay host and port.
MAIL_SERVER = "localhost"
MAIL_PORT = 25
#: SMTP login; ``None`` means the relay needs none.
MAIL_USERNAME: str | None = None
MAIL_PASSWORD: str | None = None
MAIL_USE_TLS = False  # STARTTLS
MAIL_USE_SSL = False  # implicit TLS
#: Seconds an SMTP connection or command may take.
MAIL_TIMEOUT = 10
#: The From header of every mail; its domain also makes the Message-ID.
MAIL_DEFAULT_SENDER = "Ehrenamtskarte <ehrenamtskarte@localhost>"
#: Folder for the "file" backend; ``None`` means ``instance/mail``.
MAIL_FOLDER: str | None = None

#: Uploaded proofs are stored here, outside the web root. ``None`` means
#: ``instance/uploads``.
UPLOAD_FOLDER: str | None = None
#: Largest uploaded proof, in bytes.
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
#: Largest logo or coat of arms (PNG or SVG) an office admin uploads, in bytes; a logo
#: is small, and an SVG is rasterised, which costs time in proportion to its size.
LOGO_MAX_BYTES = 512 * 1024
#: Slug of the office whose Impressum and contact the footer of pages without an office
#: of their own shows (start page, application form); ``None`` means the first office.
PUBLIC_OFFICE_SLUG: str | None = None
#: A request may be somewhat larger than one upload, so that a too-large file gets a
#: form error (with everything else kept) instead of a bare 413.
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
#: Largest file of old cards to import (CSV or XLSX), in bytes; below
#: MAX_CONTENT_LENGTH, so a larger file gets a form error. 100,000 cards as CSV are ~13 MB.
LEGACY_IMPORT_MAX_BYTES = 15 * 1024 * 1024
#: Lines of an import of old cards the worker writes per transaction: a large file never
#: holds locks or memory for all its cards at once, and progress shows after each batch.
LEGACY_IMPORT_BATCH_SIZE = 500
#: Hours after which an upload never attached to an application is deleted with its
#: file; longer than WTF_CSRF_TIME_LIMIT, so no open form can still claim it.
UNCLAIMED_UPLOAD_MAX_AGE_HOURS = 24

#: A volunteer's data exports (DSGVO Art. 15/20) are stored here, outside the web root.
#: ``None`` means ``instance/exports``; every web process and worker must see it.
EXPORT_FOLDER: str | None = None
#: Days an export can be downloaded; then the job deletes its file and row.
EXPORT_MAX_AGE_DAYS = 7
#: How long a saved draft of the application form (and its link) lives after the last
#: save; the retention job deletes it then.
DRAFT_MAX_AGE_DAYS = 30
#: An export whose files (uploads and card documents) add up to more bytes than this is
#: built by a worker and its link mailed; a smaller one is built in the request.
EXPORT_WORKER_THRESHOLD_BYTES = 2 * 1024 * 1024
#: Minutes since signing in (or confirming the password) within which a download of an
#: export is given; after that the password is asked again.
EXPORT_REAUTHENTICATION_MINUTES = 10
#: Hours the link confirming a new e-mail address is valid.
EMAIL_CHANGE_MAX_AGE_HOURS = 24
#: Days a decided name change request is kept (the audit log keeps that it happened).
NAME_CHANGE_RETENTION_DAYS = 180
#: Days a letter (address and text) is kept after staff marked it printed: long enough to
#: print a lost letter again; then the retention job deletes it.
LETTER_RETENTION_DAYS = 90
#: Days a print run (its PDF names and addresses every holder) is kept after it was
#: posted or failed, or after it was made if nobody confirmed it posted (abandoned).
PRINT_RUN_RETENTION_DAYS = 30

#: Outbox: how long a dispatched but unfinished message waits before it is sent again
#: (the broker lost it), and how often it is tried at most.
OUTBOX_REDISPATCH_AFTER = timedelta(minutes=15)
OUTBOX_MAX_ATTEMPTS = 10
#: Seconds a worker's claim on an outbox message lasts; the worker renews it every third
#: of that while it works. The work of a worker that died is handed over again within
#: this plus OUTBOX_DISPATCH_INTERVAL_SECONDS (90 s by default) and then done once.
OUTBOX_CLAIM_LEASE_SECONDS = 60.0
#: How often the periodic job hands waiting outbox messages to the broker, in seconds.
OUTBOX_DISPATCH_INTERVAL_SECONDS = 30.0
#: Seconds a message waits, once its worker fell silent while sending it (its mail may
#: be at the mail server), before another worker sends it: a worker cut off from the
#: network after the server took the mail records it as sent when it is back, so nobody
#: sends it twice; a worker that died costs that mail this much delay.
OUTBOX_IN_DOUBT_SECONDS = 300.0
#: How often the periodic job reminds organisations, in seconds.
REMINDER_INTERVAL_SECONDS = 3600.0

#: Wrong second-factor codes of one account, from any address, after which its second
#: factor is locked (OWASP ASVS 2.2.1) and the person is told by mail,
SECOND_FACTOR_MAX_FAILURES = 5
#: and for how many seconds it stays locked.
SECOND_FACTOR_LOCK_SECONDS = 900

#: A Nominatim-compatible geocoding service (its ``/search`` URL) that places partners at
#: their street address; empty: only the postcode table shipped with the app (the
#: offline default, also the fallback whenever the service fails or finds nothing).
GEOCODER_URL = ""
#: Seconds a partner's save waits for the geocoding service before using the table.
GEOCODER_TIMEOUT = 3.0

#: How long sign-in links and e-mail confirmation links are valid.
LOGIN_LINK_MAX_AGE = timedelta(minutes=30)
EMAIL_CONFIRMATION_MAX_AGE = timedelta(days=7)

#: Session and remember-me cookies (Flask, Flask-Login): only over HTTPS, not readable by
#: scripts, not sent along with other sites' requests.
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_SECURE = True
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
#: How long a sign-in lasts (a timedelta, or seconds).
PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
#: Seconds a form's CSRF token stays valid.
WTF_CSRF_TIME_LIMIT = 8 * 3600

#: Language of pages and mails when the visitor asks for none we have (the texts' own).
BABEL_DEFAULT_LOCALE = "de"
#: Time zone dates and times are shown in.
BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
#: Languages a visitor can choose; each needs a catalogue in ehrenamt/translations.
LANGUAGES = ["de", "en"]

#: Rows per page in staff lists.
PAGE_SIZE = 25

#: Map tiles for the directory's map (a Leaflet URL template: ``{z}``, ``{x}``, ``{y}``,
#: optionally ``{s}``). Its host is added to the page's Content-Security-Policy for
#: images. Use your own tile server or one whose usage policy fits your traffic; an empty
#: value shows no map (the list of results is the page's content either way).
MAP_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
#: The tiles' attribution, shown on the map (plain text; the licence requires it).
MAP_TILE_ATTRIBUTION = "© OpenStreetMap contributors"

#: The statistics page counts open applications submitted more than this many days ago.
STATISTICS_WAITING_DAYS = 30
#: Seconds the statistics page shows the figures it computed before computing them again
#: (they read every application of the office; bench/insight.py measures both). Beat
#: refreshes every office's figures twice in this time.
STATISTICS_MAX_AGE_SECONDS = 900

#: Card signing keys (Ed25519), outside the repository and the database: ``<kid>.key``
#: (private, PEM PKCS#8, mode 0600) and ``<kid>.pub`` (public, PEM). ``None`` means
#: ``instance/card-keys``. Keep retired keys' ``.pub`` files: they verify older cards.
CARD_KEYS_FOLDER: str | None = None
#: Key id that signs new cards; ``None`` means the key from the environment if given,
#: else the newest key in CARD_KEYS_FOLDER that has a private part.
CARD_SIGNING_KEY_ID: str | None = None
#: A private signing key as PEM text, usually from ``EHRENAMT_CARD_SIGNING_KEY`` (a secret
#: store) instead of a file; its public key is published with the folder's keys.
CARD_SIGNING_KEY: str | None = None
#: Seconds a process keeps the public keys in memory for checking cards before reading the
#: key folder again (a key new in the folder is picked up at once when a card uses it).
CARD_KEYS_CACHE_SECONDS = 60

#: Holders are reminded this many days before their card ends (once per validity), with
#: a link to a renewal application filled in from the card.
CARD_EXPIRY_REMINDER_DAYS = 42
#: How often the card jobs run (expire, remind, re-request unfinished cards), in seconds.
CARD_JOBS_INTERVAL_SECONDS = 3600.0

#: Each web process keeps, for checking scanned cards, the ids of this many recently
#: checked cards and all revoked card numbers, read again after this many seconds (a
#: revocation reaches the other processes within that time; services/card_index.py).
CARD_INDEX_SIZE = 100_000
#: Seconds between re-reads of the revoked card numbers (see above).
CARD_REVOCATIONS_REFRESH_SECONDS = 2.0
#: Seconds browsers and caches may keep the public revocation list (the card page's).
PUBLIC_REVOCATIONS_MAX_AGE_SECONDS = 60

#: Records of online card checks are deleted after this many days (DSGVO): the records
#: of codes that are no card of any office; an office's own cards' records follow the
#: period its admin sets.
VERIFICATION_RETENTION_DAYS = 90
#: The data protection officer named on every office's privacy notice (name and postal
#: or e-mail address, one line); ``None`` names the office's own contact instead.
PRIVACY_DATA_PROTECTION_OFFICER: str | None = None
#: Days the record of a sent mail (recipient and subject only: the body goes when it is
#: sent) is kept, so a person's data export and the staff can still see what was sent.
SENT_MAIL_RETENTION_DAYS = 30
#: The till API's check records are written in batches, this often (seconds), by each web
#: process; at most this many wait in a process while the database cannot be reached.
VERIFICATION_RECORD_FLUSH_SECONDS = 1.0
#: Most check records waiting in one process (see above); older ones are dropped first.
VERIFICATION_RECORD_MAX_PENDING = 50_000

#: The till API (``/api/v1``). Rate limits in the notation of Flask-Limiter: per partner
#: (all its keys together), per client IP address (checked before the key, so guessing
#: keys is throttled too), and for codes that are unknown or not genuine, counted per
#: partner: a till sending many of those is probing, not scanning cards.
RATELIMIT_API_PER_PARTNER = "120 per minute"
RATELIMIT_API_PER_IP = "300 per minute"
RATELIMIT_API_FAILED_CODES = "20 per minute"
#: Largest request body the API accepts, in bytes,
API_MAX_REQUEST_BYTES = 8 * 1024
#: and the longest code, in characters.
API_MAX_CODE_LENGTH = 2000
#: Seconds a web process keeps an API key it found valid in memory: a revoked key stops
#: working at once in the process that revoked it, and after this long in all others.
API_KEY_CACHE_SECONDS = 10
#: Key of the revocation list's hashes. Published with the list (it only makes the hashes
#: of this deployment differ from others'); ``None`` derives it from SECRET_KEY.
REVOCATION_LIST_SALT: str | None = None

#: The retention job (privacy.retention) deletes what is past its period: how often it
#: runs, in seconds (unclaimed uploads are due 24 hours after their upload, so hourly),
RETENTION_INTERVAL_SECONDS = 3600.0
#: rows deleted per transaction (each batch a short transaction: no long lock),
RETENTION_BATCH_SIZE = 500
#: and most rows of each kind deleted per run; a larger backlog is caught up over runs.
RETENTION_MAX_ROWS_PER_RUN = 50_000
#: After each batch the job pauses this share of the time the batch took (1.0: as long),
#: so it keeps at most about half of a core and of the database server busy and the
#: pages' queries find a free core (bench/retention.py: without a pause the queue page
#: waited for a core up to 260 ms on 2 shared cores; the job then takes twice as long).
RETENTION_PAUSE_SHARE = 1.0
