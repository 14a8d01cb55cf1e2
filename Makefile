# The two commands of the README: `make run` and `make test`. Both set up what they
# need (a virtualenv in .venv with the project installed) on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test test-sqlite test-postgresql screenshots lint bench-queue bench-issuing bench-legacy-import translations

$(VENV)/.run-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.run-installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The English catalogue, compiled from its .po (the .mo is not committed).
CATALOGUE := ehrenamt/translations/en/LC_MESSAGES/messages
$(CATALOGUE).mo: $(CATALOGUE).po $(VENV)/.run-installed
	$(PY) -m babel.messages.frontend compile -d ehrenamt/translations

# The QR decoder the verification page serves itself (no CDN): installed from the npm
# registry at the version pinned in package-lock.json, copied into the static folder.
JSQR := ehrenamt/static/vendor/jsQR.js
node_modules/jsqr/dist/jsQR.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(JSQR): node_modules/jsqr/dist/jsQR.js
	mkdir -p $(dir $@)
	cp $< $@

# Leaflet, for the directory's map (no CDN): from the npm registry at the version pinned in
# package-lock.json, script, style sheet and marker images copied into the static folder.
LEAFLET := ehrenamt/static/vendor/leaflet/leaflet.js
node_modules/leaflet/dist/leaflet.js: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(LEAFLET): node_modules/leaflet/dist/leaflet.js
	mkdir -p $(dir $@)
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
		node_modules/leaflet/dist/images $(dir $@)

# axe-core, for the accessibility tests only (tests/test_accessibility.py reads it from
# node_modules and puts it into the pages it checks; the app never serves it).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## Re-extract the German messages and merge them into the English catalogue; then
## translate every new or fuzzy entry in $(CATALOGUE).po (tests/test_i18n.py checks).
translations: $(VENV)/.run-installed
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k _l -k lazy_gettext \
		--add-location=file --sort-by-file --project ehrenamt --copyright-holder ehrenamt \
		-o ehrenamt/translations/messages.pot .
	$(PY) -m babel.messages.frontend update -i ehrenamt/translations/messages.pot \
		-d ehrenamt/translations --ignore-obsolete

## Run the whole service: web server, Celery worker and beat, with embedded defaults.
run: $(VENV)/.run-installed $(CATALOGUE).mo $(JSQR) $(LEAFLET)
	$(PY) -m ehrenamt.launch

## Run the tests on SQLite and on PostgreSQL at the same time (needs PostgreSQL, Redis and
## Chromium; .ci/run installs and starts them on a fresh machine). Much of a run is waiting
## (for workers, mails, the browser), so the two together take little longer than one;
## each run's output is printed whole when it ends.
test: $(VENV)/.dev-installed $(CATALOGUE).mo $(JSQR) $(LEAFLET) $(AXE)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql

test-sqlite: $(VENV)/.dev-installed $(CATALOGUE).mo $(JSQR) $(LEAFLET) $(AXE)
	EHRENAMT_TEST_DATABASE=sqlite $(PY) -m pytest $(PYTEST_ARGS)

test-postgresql: $(VENV)/.dev-installed $(CATALOGUE).mo $(JSQR) $(LEAFLET) $(AXE)
	EHRENAMT_TEST_DATABASE=postgresql $(PY) -m pytest $(PYTEST_ARGS)

## The screenshot tour: the main pages at phone (390×844) and desktop (1280×800) size, as
## every role, into EHRENAMT_SCREENSHOTS (default instance/screenshots), to look at.
## Not part of `make test` (tests marked `screenshots` run only when asked for).
screenshots: $(VENV)/.dev-installed $(CATALOGUE).mo $(JSQR) $(LEAFLET) $(AXE)
	EHRENAMT_SCREENSHOTS=$${EHRENAMT_SCREENSHOTS:-instance/screenshots} $(PY) -m pytest -m screenshots -q tests/test_screenshots.py

## Lint and type checks (CI runs them before the tests).
lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check ehrenamt workers tests bench
	$(VENV)/bin/ruff format --check ehrenamt workers tests bench
	$(VENV)/bin/mypy ehrenamt workers

## Benchmarks (see bench/README.md).
bench-queue: $(VENV)/.dev-installed
	$(PY) -m bench.queue

bench-issuing: $(VENV)/.dev-installed $(CATALOGUE).mo
	$(PY) -m bench.issuing

bench-legacy-import: $(VENV)/.dev-installed
	$(PY) -m bench.legacy_import
