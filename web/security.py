"""Security headers on every response: CSP, framing, sniffing, referrer, HSTS."""

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)


def register(app):
    """Security headers on every response, and no shared caching of per-visitor pages."""
    defaults = [
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if app.config["SESSION_COOKIE_SECURE"]:
        defaults.append(("Strict-Transport-Security", "max-age=31536000"))
    app.wsgi_app = SecurityHeaders(app.wsgi_app, defaults)


class SecurityHeaders:
    """WSGI middleware that adds the default headers a response does not set itself.

    Pages that may be framed set their own Content-Security-Policy and get no
    X-Frame-Options. A response without Cache-Control, or with a public one and a
    cookie, is private. Working on the final list of headers, it sees the session
    cookie too, and costs a fraction of an after_request hook (werkzeug's Headers
    checked every value it added, on every request).
    """

    def __init__(self, wsgi_app, defaults):
        self.wsgi_app = wsgi_app
        self.defaults = [(name.lower(), (name, value)) for name, value in defaults]

    def __call__(self, environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower(): value for name, value in headers}
            if "content-security-policy" not in present:
                headers.append(("X-Frame-Options", "DENY"))
            headers.extend(item for key, item in self.defaults if key not in present)
            cache = present.get("cache-control")
            if cache is None or ("set-cookie" in present and "public" in cache):
                headers[:] = [item for item in headers if item[0].lower() != "cache-control"]
                headers.append(("Cache-Control", "private, no-cache"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_headers)
