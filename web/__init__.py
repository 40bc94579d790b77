"""Web plumbing: security headers, htmx helpers, caching, locale, errors, templating."""
