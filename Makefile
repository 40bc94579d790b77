# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Development settings for `make run` (production sets these in its environment).
RUN_ENV := SECRET_KEY="$$(cat instance/secret_key)" SESSION_COOKIE_SECURE=0 \
	BASE_URL=http://127.0.0.1:$(PORT) BIND=127.0.0.1:$(PORT)

.PHONY: run test lint format install install-dev translations compile-translations bench screenshots clean

run: install compile-translations instance/secret_key
	$(RUN_ENV) $(BIN)/flask --app app db upgrade
	$(RUN_ENV) $(BIN)/flask --app app seed
	@echo ""
	@echo "  Write for Rights is running at http://127.0.0.1:$(PORT)/"
	@echo "  Emails are written to instance/mail/ (set MAIL_SERVER to send them). Ctrl-C stops."
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	$(RUN_ENV) $(BIN)/flask --app app mail-worker & \
	$(RUN_ENV) $(BIN)/gunicorn -c gunicorn.conf.py app:app

test: install-dev compile-translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@echo "== Test suite on SQLite =="
	env -u TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== Test suite on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		$(BIN)/pytest; \
	else \
		echo "== PostgreSQL run skipped: TEST_DATABASE_URL is not set =="; \
	fi

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# The Nu HTML Checker for tests/test_valid_html.py, run with Debian's Java. Its install
# script would download a Java runtime of its own: skipped.
VNU_JAR := node_modules/vnu-jar/build/dist/vnu.jar
# axe-core, the accessibility checker tests/browser/test_languages.py injects into pages.
AXE_JS := node_modules/axe-core/axe.min.js
$(VNU_JAR) $(AXE_JS) &: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $(VNU_JAR) $(AXE_JS)

# Translations: gettext catalogs, translations/<code>/LC_MESSAGES/messages.po, the layout a
# translator's editor (Poedit) or Weblate takes over. `make translations` finds every marked
# string (babel.cfg says where), starts a catalog for each language in LANGUAGES (config.py)
# that has none, adds the new strings to every catalog and compiles them. A changed string
# comes in untranslated, its old translation kept below as an obsolete #~ entry to start
# from (Babel's fuzzy guesses mix up placeholders, and a catalog with a wrong placeholder
# does not compile). tests/test_translations.py fails while a supporter-side string is
# untranslated or fuzzy. The .pot and the compiled .mo files are never committed (`make run`
# and `make test` compile). A new language: add its code to LANGUAGES, `make translations`,
# then translate translations/<code>/LC_MESSAGES/messages.po.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--add-comments Translators: --ignore-dirs ".* node_modules .venv" --sort-by-file \
		--project "Write for Rights" -o translations/messages.pot .
	@for code in $$($(BIN)/python -c 'from config import Config as C; print(*(c for c in C.LANGUAGES if c != C.BABEL_DEFAULT_LOCALE))'); do \
		test -f translations/$$code/LC_MESSAGES/messages.po || \
		$(BIN)/pybabel init -i translations/messages.pot -d translations -l $$code --no-wrap; \
	done
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap \
		--ignore-pot-creation-date --no-fuzzy-matching
	$(BIN)/pybabel compile --statistics -d translations

compile-translations: install
	$(BIN)/pybabel compile -d translations

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev $(VNU_JAR) $(AXE_JS)

instance/secret_key: | $(BIN)/python
	mkdir -p instance
	$(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@
	chmod 600 $@

bench: install-dev
	@command -v wrk >/dev/null || { echo "Installing wrk (Debian package)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/http_bench.py

screenshots: install-dev
	$(BIN)/python tools/screenshots.py http://127.0.0.1:$(PORT) screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
