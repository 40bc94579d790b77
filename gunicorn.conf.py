"""gunicorn settings for `gunicorn app:app`. Each can be overridden from the environment."""

import multiprocessing
import os

from gunicorn.glogging import Logger

from web.log_privacy import private_url

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Sync workers, one request at a time each: a fair fit for short, CPU-bound Flask views.
# cores+1 rather than 2*cores+1: on the embedded SQLite database every writer waits for
# the one write lock, so more workers only lengthen that queue and a supporter's wait.
# With PostgreSQL on another machine, raise WEB_CONCURRENCY: more workers hide its latency.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so that no slow leak can build up over a campaign.
max_requests = 20000
max_requests_jitter = 2000
# Access log to stdout unless turned off ("" or "none"). It holds paths, never form data,
# query strings or confirmation tokens (web/log_privacy.py): no supporter's data.
accesslog = os.environ.get("ACCESS_LOG", "-") or None
if accesslog == "none":
    accesslog = None
errorlog = "-"
# Behind a load balancer, trust X-Forwarded-* only from it (see PROXY_FIX_X_FOR too).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """Take the loaded app's objects (modules, models, metadata) out of the garbage
    collector's full collections, which then scan only what requests create: otherwise a
    full collection now and then stalls whichever request triggers it (a moderator's
    queue page took ten times its usual time; see bench/queue_bench.py)."""
    import gc

    gc.freeze()


class PrivateLogger(Logger):
    """gunicorn's logger, whose access log shows private_url() of the request and referer.

    The atoms that would show the raw URL (headers and environ values such as {raw_uri}e
    or {referer}i) are left out: a format naming them gets "-"."""

    RAW = {"{raw_uri}e", "{path_info}e", "{query_string}e", "{http_referer}e", "{referer}i"}

    def atoms(self, resp, req, environ, request_time):
        """The access log's values, with the request's URL and referer made private."""
        atoms = {
            name: value
            for name, value in super().atoms(resp, req, environ, request_time).items()
            if name not in self.RAW
        }
        method, protocol = environ["REQUEST_METHOD"], environ["SERVER_PROTOCOL"]
        atoms["r"] = f"{method} {private_url(environ['RAW_URI'])} {protocol}"
        atoms["U"] = private_url(environ.get("PATH_INFO", ""))
        atoms["q"] = "-"
        referer = environ.get("HTTP_REFERER")
        atoms["f"] = private_url(referer) if referer else "-"
        return atoms


# The access log without supporters' data (see the comment on accesslog above).
logger_class = PrivateLogger
