"""gunicorn settings for `gunicorn app:app`. Each can be overridden from the environment."""

import multiprocessing
import os

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
# Access log to stdout unless turned off ("" or "none"). It holds paths, never form data.
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
