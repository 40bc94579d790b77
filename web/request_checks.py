"""Requests that no page of ours sends: a NUL byte, or bytes that are not UTF-8, in the
path, the query string or a form. They are refused with a 400 that says so, before any
view runs, so nothing of them is stored and no database sees them (PostgreSQL refuses a
NUL in text with an error, which would be a 500).

Werkzeug decodes with errors="replace", so once decoded, bytes that are not UTF-8 look
like a U+FFFD that someone typed. The check therefore reads the raw bytes: PATH_INFO and
QUERY_STRING from the WSGI environ, and the body of a form. A multipart form (staff's
case form, which carries photos) holds binary files, so only its text fields are checked,
read from the raw body with Werkzeug's own multipart decoder.
"""

from urllib.parse import unquote_to_bytes

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData


class UnreadableRequest(BadRequest):
    """A path, query or form with bytes that are not text: nothing was done."""

    description = _l(
        "The address or the form contained characters we cannot read, so nothing was sent. "
        "Please go back and try again."
    )


def readable(raw):
    """Whether percent-encoded bytes decode to UTF-8 text without a NUL."""
    return readable_text(unquote_to_bytes(raw))


def readable_text(data):
    """Whether bytes are UTF-8 text without a NUL."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


def multipart_text_readable(body, boundary):
    """Whether every text field of a multipart body (its files aside) is readable text."""
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    decoder.receive_data(body)
    decoder.receive_data(None)
    in_text, value = False, b""
    while not isinstance(event := decoder.next_event(), NeedData | Epilogue):
        if isinstance(event, File):
            in_text = False
        elif isinstance(event, Field):
            in_text, value = True, b""
        elif isinstance(event, Data) and in_text:
            value += event.data
            if not event.more_data and not readable_text(value):
                return False
    return True


def refuse_unreadable_requests():
    """A before_request hook: refuse a request whose path, query string or form values are
    not readable text. WSGI gives PATH_INFO and QUERY_STRING as bytes decoded as Latin-1
    (PEP 3333), so encoding them as Latin-1 gives back the bytes that were sent."""
    environ = request.environ
    raw = [environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")]
    if not all(readable(part.encode("latin-1")) for part in raw):
        raise UnreadableRequest()
    if request.mimetype == "application/x-www-form-urlencoded":
        # Cached, so the form is parsed from these same bytes afterwards. The body is
        # already bounded by MAX_CONTENT_LENGTH.
        if not readable(request.get_data(cache=True).replace(b"+", b" ")):
            raise UnreadableRequest()
    elif request.mimetype == "multipart/form-data":
        # Cached as well: the form is parsed from these bytes. Bounded by the largest body
        # the route takes (MAX_CONTENT_LENGTH, or the case form's photos).
        boundary = request.mimetype_params.get("boundary", "")
        if not multipart_text_readable(request.get_data(cache=True), boundary):
            raise UnreadableRequest()


def register(app):
    """The check before every request, before the views and the other extensions' hooks."""
    app.before_request(refuse_unreadable_requests)
