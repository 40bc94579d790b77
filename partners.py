"""Partner organisations that embed letter forms on their own sites.

Managing partners (add, update, rotate the stats link, remove), the embed snippet, the
single-use form tokens that stand in for cookies inside their frames, and each partner's
figures. The admin pages and `flask partners ...` call these; the embed views use the
tokens.
"""

import base64
import hashlib
import hmac
import random
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy.dialects import postgresql, sqlite

import audit
from extensions import begin_write, db
from models import KINDS, Case, Letter, Partner, UsedFormToken, utcnow

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?")
# What a stored origin looks like: scheme, lower-case host and a port when it is not the
# default. Nothing else can reach the frame-ancestors policy or the frame's script.
ORIGIN = re.compile(r"https?://[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?(?::[0-9]{1,5})?")
DEFAULT_PORTS = {"http": 80, "https": 443}
NAME_MAX = 200

# The parent page's script: the version is in the file name, so a partner's snippet keeps
# the file its integrity hash was made from. A change of behaviour is a new file.
EMBED_SCRIPT = "js/embed-1.js"
FALLBACK_HEIGHT = 900  # px: the frame's height where the script does not run

FORM_TOKEN_SALT = "embed-form-token"  # noqa: S105 (a salt, not a secret)
PURGE_CHANCE = 0.02  # a spent-token write also purges expired ones, now and then


class PartnerError(ValueError):
    """Something an operator typed that cannot be used; the message says what to do."""


# Managing partners


def normalized_origin(text):
    """`text` as an origin (https://host[:port]), the way browsers write one, or PartnerError."""
    text = (text or "").strip()
    problem = PartnerError(
        f"{text!r} is not an origin: give the scheme, host and port only, "
        "like https://partner.example or http://localhost:8080."
    )
    try:
        parts = urlsplit(text)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise problem from None
    if (
        parts.scheme not in DEFAULT_PORTS
        or not host
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
        or text.endswith(("?", "#"))
    ):
        raise problem
    origin = f"{parts.scheme}://{host}"
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        origin += f":{port}"
    if not ORIGIN.fullmatch(origin):
        raise problem
    return origin


def clean_origins(texts):
    """Each origin normalised, once, in the order given; at least one."""
    origins = list(dict.fromkeys(normalized_origin(text) for text in texts if text.strip()))
    if not origins:
        raise PartnerError("Give at least one origin allowed to embed the form.")
    return origins


def clean_name(name):
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_MAX:
        raise PartnerError(f"Give the partner's name (up to {NAME_MAX} characters).")
    return name


def find_partner(slug, include_removed=False):
    """The partner with this slug (a removed one only when asked), or None."""
    query = sa.select(Partner).where(Partner.slug == slug)
    if not include_removed:
        query = query.where(Partner.removed_at.is_(None))
    return db.session.scalar(query)


def active_partners():
    return db.session.scalars(
        sa.select(Partner).where(Partner.removed_at.is_(None)).order_by(Partner.name)
    ).all()


def all_partners():
    """Every partner, removed ones last: their letters still count in the figures."""
    return db.session.scalars(
        sa.select(Partner).order_by(Partner.removed_at.is_not(None), Partner.name)
    ).all()


def add_partner(slug, name, origins):
    """A new partner with its own random stats link."""
    slug = (slug or "").strip().lower()
    if not SLUG.fullmatch(slug):
        raise PartnerError(
            "The slug is the partner's short name in addresses: lower-case letters, digits "
            "and hyphens, like amnesty-students."
        )
    name, origins = clean_name(name), clean_origins(origins)
    begin_write()
    existing = find_partner(slug, include_removed=True)
    if existing is not None:
        db.session.rollback()
        taken = "a removed partner" if existing.removed_at else existing.name
        raise PartnerError(f"The slug {slug} is taken by {taken}: choose another.")
    partner = Partner(slug=slug, name=name, origins=origins)
    db.session.add(partner)
    db.session.flush()
    audit.record("partner.create", partner, name=name, origins=origins)
    db.session.commit()
    return partner


def update_partner(partner, name, origins):
    """Change a partner's name or allowed origins; frames on a dropped origin stop working."""
    name, origins = clean_name(name), clean_origins(origins)
    begin_write()
    before = {"name": partner.name, "origins": list(partner.origins)}
    partner.name, partner.origins = name, origins
    audit.record("partner.update", partner, before=before, name=name, origins=origins)
    db.session.commit()
    return partner


def rotate_stats_link(partner):
    """A new secret for the partner's stats link: the old link stops working at once."""
    begin_write()
    partner.stats_token = secrets.token_urlsafe(32)
    audit.record("partner.rotate", partner)
    db.session.commit()
    return partner


def remove_partner(partner):
    """Stop a partner's embeds and stats link.

    A partner with letters is kept, marked removed, so its letters stay attributed and the
    figures per partner do not change; one without letters (added by mistake) is deleted.
    Returns True when the row was deleted.
    """
    begin_write()
    letters = db.session.scalar(
        sa.select(sa.func.count()).select_from(Letter).where(Letter.partner_id == partner.id)
    )
    audit.record("partner.remove", partner, slug=partner.slug, letters=letters)
    deleted = letters == 0
    if deleted:
        db.session.delete(partner)
    else:
        partner.removed_at = utcnow()
    db.session.commit()
    return deleted


# The snippet


def embed_path(partner, case_slug, language=None):
    """The framed form's path (no request needed: the CLI prints snippets too)."""
    values = {"partner_slug": partner.slug, "slug": case_slug}
    if language and language != "en":
        values["lang"] = language
    return current_app.url_map.bind("").build("embed.form", values)


def script_url():
    return current_app.config["BASE_URL"] + current_app.url_map.bind("").build(
        "static", {"filename": EMBED_SCRIPT}
    )


def script_integrity():
    """The Subresource Integrity value of the embed script, from the file as it is now."""
    path = Path(current_app.static_folder) / EMBED_SCRIPT
    return file_integrity(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def file_integrity(path, _mtime):
    digest = hashlib.sha384(Path(path).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode("ascii")


def snippet(partner, case, language=None):
    """The HTML a partner pastes into its page: the frame, and the script that sizes it.

    Without the script (blocked, or not pasted) the frame still works, at a fixed height
    with its own scroll bar. No inline style or script, so it suits a strict CSP too.
    """
    src = current_app.config["BASE_URL"] + embed_path(partner, case.slug, language)
    frame = Markup(
        '<iframe src="{src}" title="{title}" width="100%" height="{height}" loading="lazy" '
        "data-w4r-embed></iframe>"
    ).format(src=src, title=f"Write for {case.name}", height=FALLBACK_HEIGHT)
    script = Markup(
        '<script src="{src}" integrity="{integrity}" crossorigin="anonymous" async></script>'
    ).format(src=script_url(), integrity=script_integrity())
    return str(frame + Markup("\n") + script)


# Single-use form tokens


@dataclass(frozen=True)
class FormToken:
    """What a verified form token says: which form of which case, for which partner."""

    case_id: int
    partner_id: int
    kind: str
    nonce: str
    shown_at: int  # when the supporter first saw the form (kept when a form is refreshed)
    signed_at: datetime

    def fits(self, case_id, partner_id, kind):
        return (self.case_id, self.partner_id, self.kind) == (case_id, partner_id, kind)


def form_serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=FORM_TOKEN_SALT)


def token_max_age():
    return current_app.config["EMBED_TOKEN_MINUTES"] * 60


def form_token(case_id, partner_id, kind, shown_at=None):
    """A signed token for one form of one case on one partner's site, usable once."""
    nonce = secrets.token_urlsafe(16)
    shown_at = int(shown_at if shown_at is not None else time.time())
    return form_serializer().dumps([case_id, partner_id, kind, nonce, shown_at])


def read_form_token(token):
    """(FormToken, problem): problem is None, "expired" or "invalid" (forged, tampered,
    or not a token). An expired token's contents are still given: they are genuine, and
    its refreshed form keeps the time it was first shown."""
    serializer = form_serializer()
    try:
        payload, signed_at = serializer.loads(
            token or "", max_age=token_max_age(), return_timestamp=True
        )
        problem = None
    except SignatureExpired as expired:
        payload, signed_at, problem = expired.payload, expired.date_signed, "expired"
        try:
            payload = serializer.load_payload(payload)
        except BadSignature:
            return None, "invalid"
    except BadSignature:
        return None, "invalid"
    if not (
        isinstance(payload, list)
        and len(payload) == 5
        and all(isinstance(value, int) for value in (payload[0], payload[1], payload[4]))
        and payload[2] in KINDS
        and isinstance(payload[3], str)
        and signed_at is not None
    ):
        return None, "invalid"
    signed_at = signed_at.astimezone(UTC).replace(tzinfo=None)
    return FormToken(*payload, signed_at=signed_at), problem


def spend_form_token(token):
    """Mark the token used; False when it already was (a replay).

    A row per spent token, in the database so that every app server sees it, kept until
    the token would have expired anyway. On a conflict nothing is written.
    """
    expires_at = token.signed_at + timedelta(seconds=token_max_age() + 60)
    begin_write()
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    # A row comes back only when it was written (not every driver reports an INSERT's
    # rowcount).
    statement = (
        insert(UsedFormToken)
        .values(nonce=token.nonce, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["nonce"])
        .returning(UsedFormToken.nonce)
    )
    spent = db.session.execute(statement).first() is not None
    if random.random() < PURGE_CHANCE:
        purge_spent_tokens()
    db.session.commit()
    return spent


def purge_spent_tokens(now=None):
    """Forget spent tokens that have expired: their signature refuses them by itself now."""
    result = db.session.execute(
        sa.delete(UsedFormToken).where(UsedFormToken.expires_at < (now or utcnow()))
    )
    return result.rowcount


# Figures


def written_and_counted():
    """Letters written, and those confirmed and counted, as two column expressions."""
    return (
        sa.func.count().label("written"),
        sa.func.coalesce(sa.func.sum(sa.case((Letter.counted, 1), else_=0)), 0).label("counted"),
    )


def stats_per_case(partner_id):
    """[(case name, written, counted)] for one partner's letters, busiest case first."""
    rows = db.session.execute(
        sa.select(Case.name, *written_and_counted())
        .join(Case, Case.id == Letter.case_id)
        .where(Letter.partner_id == partner_id)
        .group_by(Case.id, Case.name)
        .order_by(sa.desc("written"), Case.name)
    )
    return [(name, written, int(counted)) for name, written, counted in rows]


def stats_per_day(partner_id, days=120):
    """[(day as YYYY-MM-DD, written, counted)] for one partner, newest day first."""
    day = sa.func.date(Letter.created_at)
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(
        sa.select(day.label("day"), *written_and_counted())
        .where(Letter.partner_id == partner_id, Letter.created_at >= since)
        .group_by(day)
        .order_by(day.desc())
    )
    return [(str(when), written, int(counted)) for when, written, counted in rows]


def totals_by_partner():
    """{partner id: (written, counted)} for every partner that has letters (the dashboard)."""
    rows = db.session.execute(
        sa.select(Letter.partner_id, *written_and_counted())
        .where(Letter.partner_id.is_not(None))
        .group_by(Letter.partner_id)
    )
    return {partner_id: (written, int(counted)) for partner_id, written, counted in rows}


def export_rows():
    """(partner slug, partner name, case slug, written, counted) per partner and case."""
    rows = db.session.execute(
        sa.select(Partner.slug, Partner.name, Case.slug, *written_and_counted())
        .join(Partner, Partner.id == Letter.partner_id)
        .join(Case, Case.id == Letter.case_id)
        .group_by(Partner.slug, Partner.name, Case.slug)
        .order_by(Partner.slug, Case.slug)
    )
    return [
        (p_slug, p_name, c_slug, written, int(counted))
        for p_slug, p_name, c_slug, written, counted in rows
    ]


def partner_for_stats_link(token):
    """The partner whose stats link carries `token`, or None.

    Every partner's secret is compared in constant time and the loop never stops early,
    so the answer's timing says nothing about how close a guess was.
    """
    token = (token or "").encode()
    found = None
    for partner_id, secret in db.session.execute(
        sa.select(Partner.id, Partner.stats_token).where(Partner.removed_at.is_(None))
    ):
        if hmac.compare_digest(secret.encode(), token):
            found = partner_id
    return db.session.get(Partner, found) if found is not None else None


def stats_url(partner):
    return current_app.config["BASE_URL"] + current_app.url_map.bind("").build(
        "embed.stats", {"token": partner.stats_token}
    )
