"""A live server in a thread and Debian's Chromium driven by Playwright.

These tests never skip: a machine without /usr/bin/chromium fails them, because
.ci/run installs it."""

import threading
from types import SimpleNamespace

import pytest
from console import watch_errors
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the whole run: a second one cannot start beside it."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def live(make_app, cases):
    """The app served on a free port, with counters that poll every second."""
    app = make_app(COUNTER_POLL_SECONDS=1)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=app.config["BASE_URL"], app=app)
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = watch_errors(page)
    yield page
    context.close()
    assert errors == [], f"the page reported errors: {errors}"


@pytest.fixture
def no_js_page(browser):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    yield context.new_page()
    context.close()
