"""Letters for bench/http_bench.py's measurement (c): the case page's form read as a
browser reads it, one test letter sent outside wrk, then wrk posting letters, each
answer and each stored row checked."""

import time
import urllib.parse
from html.parser import HTMLParser
from http.cookies import SimpleCookie

from http_common import CASE_PATH, CheckFailed
from http_servers import APP_SETTINGS, http_request
from http_wrk import CpuMeter, check_statuses, quietest, run_wrk

SUBMIT_PATH = f"{CASE_PATH}/letters/appeal"
BROWSER_HEADERS = {  # what a browser sends with a form posted from the case page
    "Sec-Fetch-Site": "same-origin",
    "Origin": APP_SETTINGS["BASE_URL"],
    "Content-Type": "application/x-www-form-urlencoded",
}


class HiddenInputs(HTMLParser):
    """{name: value} of the page's <input type="hidden"> fields."""

    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""


def letter_form(port):
    """(cookie header or "", url-encoded appeal fields without the email) from one visit.

    The hidden fields are taken as the page has them (a signed render time; a CSRF token
    and a session cookie too on code that still has them)."""
    status, headers, page = http_request(port, "GET", CASE_PATH)
    if status != 200:
        raise CheckFailed(f"GET {CASE_PATH} answered {status}")
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())
    parser = HiddenInputs()
    parser.feed(page)
    hidden = {name: value for name, value in parser.values.items() if name.startswith("appeal-")}
    if not hidden.get("appeal-started"):
        raise CheckFailed(f"the case page has no appeal-started field: {sorted(parser.values)}")
    fields = {
        **hidden,
        "appeal-language": "en",
        "appeal-name": "Bench Supporter",
        "appeal-country": "GB",
        "appeal-city": "London",
        "appeal-body": "Please release him now and drop every charge against him.",
        "appeal-consent_privacy": "y",
    }
    return cookie, urllib.parse.urlencode(fields)


def post_one_letter(port, cookie, fields, email):
    """Send one letter outside wrk, so that a broken form fails with a readable answer."""
    body = fields + "&" + urllib.parse.urlencode({"appeal-email": email})
    headers = {**BROWSER_HEADERS, **({"Cookie": cookie} if cookie else {})}
    status, _headers, text = http_request(port, "POST", SUBMIT_PATH, body, headers)
    if status != 303:
        raise CheckFailed(f"a test letter got {status} instead of 303:\n{text[:2000]}")


def settled_counts(database, timeout=10):
    """(letters, outbox rows) once the server has finished what wrk left in flight."""
    sql = "SELECT (SELECT count(*) FROM letters), (SELECT count(*) FROM outbox)"
    previous = database.row(sql)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = database.row(sql)
        if current == previous:
            break
        previous = current
    return previous


def measure_submit(args, server, database, run_tag):
    """Letters posted by wrk, each checked: 303 answers, and as many new rows. run_tag
    must be new for every call: it starts every email address sent."""
    cookie, fields = letter_form(server.port)
    post_one_letter(server.port, cookie, fields, f"{run_tag}-first@example.org")
    url = server.base + SUBMIT_PATH
    origin = BROWSER_HEADERS["Origin"]
    run_wrk(args, url, "wrk_submit.lua", args.warmup, (cookie, fields, f"{run_tag}-warm", origin))

    def once(attempt):
        tag = f"{run_tag}-run{attempt}"
        letters_before, outbox_before = settled_counts(database)
        meter = CpuMeter(server)
        meter.start()
        result = run_wrk(args, url, "wrk_submit.lua", args.duration, (cookie, fields, tag, origin))
        result.update(meter.stop(result["requests"]))
        letters_after, outbox_after = settled_counts(database)
        grown, emails = letters_after - letters_before, outbox_after - outbox_before
        answered = result["statuses"].get(303, 0)
        problems = check_statuses(result, 303)
        # wrk stops with up to one request per connection in flight: the server may have
        # stored those letters without wrk counting their answers.
        if not answered <= grown <= answered + args.connections:
            problems.append(
                f"{answered} letters answered 303 but the letters table grew by {grown}"
            )
        distinct = database.scalar(
            f"SELECT count(DISTINCT email_key) FROM letters WHERE email_key LIKE '{tag}-%'"  # noqa: S608
        )
        if distinct != grown:
            problems.append(f"{grown} new letters but {distinct} distinct new addresses")
        if emails != grown:
            problems.append(f"{grown} new letters but {emails} new outbox emails")
        result.update(letters_stored=grown, emails_queued=emails, problems=problems)
        return result

    return quietest(args, "submissions", once)
