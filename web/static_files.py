"""Static files under content-hashed URLs, which browsers and caches keep for a year.

Every url_for('static', filename=...) gets `?v=` and the start of the file's SHA-256, so
a changed file has a new URL and nobody keeps an old copy past a deploy. A request whose
`v` is the file's hash as it is now is answered `public, max-age=31536000, immutable`;
any other keeps Flask's default (revalidate each time), so an old URL never pins new
content for a year. The hash is computed once per file and modification time.
"""

import hashlib
import os
from functools import lru_cache

from flask import current_app, request
from werkzeug.security import safe_join

from partners import EMBED_SCRIPT

A_YEAR = "public, max-age=31536000, immutable"
# Partners paste this script's plain URL with its integrity hash; the file name carries
# its version (a change of behaviour is a new file), so its URL stays as it is.
UNVERSIONED = {EMBED_SCRIPT}


def register(app):
    """Version every static URL the app builds, and mark matching answers immutable."""
    app.url_defaults(add_version)
    app.after_request(keep_for_a_year)


def add_version(endpoint, values):
    """url_for's hook: the `v` of a static file's URL."""
    if endpoint == "static" and "v" not in values:
        filename = values.get("filename")
        if filename not in UNVERSIONED:
            values["v"] = version(filename)  # None (a missing file) leaves it out


def keep_for_a_year(response):
    """A static file asked for by its current hash never changes: caches keep it."""
    if request.endpoint == "static" and response.status_code in (200, 304):
        wanted = request.args.get("v")
        if wanted and wanted == version(request.view_args.get("filename")):
            response.headers["Cache-Control"] = A_YEAR
    return response


def version(filename):
    """The first 12 hex digits of the file's SHA-256, or None when there is no such file."""
    path = safe_join(current_app.static_folder, filename or "")
    if path is None or not os.path.isfile(path):
        return None
    return file_hash(path, os.stat(path).st_mtime_ns)


@lru_cache(maxsize=256)
def file_hash(path, _modified):
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()[:12]
