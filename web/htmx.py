"""One template source per fragment: htmx asks for the partial, everyone else the page."""

from flask import make_response, render_template, request


def is_htmx():
    """An htmx request for a fragment. Boosted and history-restore requests want the page."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Request-Type", "partial") == "partial"
        and not headers.get("HX-History-Restore-Request")
    )


def fragment_or_page(fragment, page, status=200, **context):
    """Render the partial for htmx, else the page that includes it; caches keep them apart."""
    template = fragment if is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.update(["HX-Request", "HX-Request-Type"])
    return response
