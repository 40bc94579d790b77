"""What logs may say about a request: its path, never a confirmation token or a query.

A confirmation link (/confirm/<token>) is a key to a supporter's letter, a "Your
letters" link (/your-letters/<token>) to all of them, a staff link
(/admin/invitation/<token>, /admin/reset/<token>) a key to a staff account, a partner's
stats link (/partners/stats/<token>, and its offline reports under it) the key to the
partner's figures and reports, and a query
can hold what a moderator searched for (an address, a name). So the access log and the
app's error log write the path with any token replaced by "<token>" and no query string.
"""

import re
from urllib.parse import urlsplit, urlunsplit

# /confirm/<token>, but not the fixed pages /confirm/resend and /confirm/sent.
CONFIRM_TOKEN = re.compile(r"/confirm/(?!(?:resend|sent)(?:/|$))[^/]+")
# A "Your letters" link, /your-letters/<token>, but not the pages and forms beside it.
DATA_LINK_TOKEN = re.compile(
    r"/your-letters/(?!(?:sent|view|export|consent|news|erase)(?:/|$))[^/]+"
)
# A staff member's emailed link: /admin/invitation/<token> and /admin/reset/<token>.
STAFF_LINK_TOKEN = re.compile(r"/admin/(invitation|reset)/[^/]+")
# An email's unsubscribe link: the same for every email to one address, so it would tie
# the log's lines to that person.
UNSUBSCRIBE_TOKEN = re.compile(r"/unsubscribe/[^/]+")
# A partner's private stats link: whoever reads it in a log could report for the partner.
PARTNER_STATS_TOKEN = re.compile(r"/partners/stats/[^/]+")


def private_url(url):
    """`url` (a path or a full URL) without its query, fragment or confirmation token."""
    parts = urlsplit(url)
    path = CONFIRM_TOKEN.sub("/confirm/<token>", parts.path)
    path = DATA_LINK_TOKEN.sub("/your-letters/<token>", path)
    path = STAFF_LINK_TOKEN.sub(r"/admin/\1/<token>", path)
    path = UNSUBSCRIBE_TOKEN.sub("/unsubscribe/<token>", path)
    path = PARTNER_STATS_TOKEN.sub("/partners/stats/<token>", path)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
