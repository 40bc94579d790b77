"""Bounces that come back by email: delivery status notifications (RFC 3464) read from a
Maildir or an IMAP folder, whose addresses are suppressed (mail/suppression.py).

(Written by the bounces work of issue 14.)
"""


def read_maildir(path):
    raise NotImplementedError


def read_imap(url):
    raise NotImplementedError


def report(found):
    return str(found)
