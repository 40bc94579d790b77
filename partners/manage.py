"""Partner organisations: add, update, rotate the stats link, remove; the embed snippet."""

import base64
import hashlib
import re
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from extensions import begin_write, db
from models import Letter, OfflineReport, Partner, utcnow
from staff import audit

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


class PartnerError(ValueError):
    """Something an operator typed that cannot be used; the message says what to do."""


# Managing partners


def normalized_origin(text):
    """`text` as an origin (https://host[:port]), the way browsers write one, or PartnerError."""
    text = (text or "").strip()
    problem = PartnerError(
        _(
            "%(origin)s is not an origin: give the scheme, host and port only, "
            "like https://partner.example or http://localhost:8080.",
            origin=repr(text),
        )
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
        raise PartnerError(_("Give at least one origin allowed to embed the form."))
    return origins


def clean_name(name):
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_MAX:
        raise PartnerError(_("Give the partner's name (up to %(max)d characters).", max=NAME_MAX))
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
            _(
                "The slug is the partner's short name in addresses: lower-case letters, "
                "digits and hyphens, like amnesty-students."
            )
        )
    name, origins = clean_name(name), clean_origins(origins)
    begin_write()
    existing = find_partner(slug, include_removed=True)
    if existing is not None:
        db.session.rollback()
        taken = _("a removed partner") if existing.removed_at else existing.name
        raise PartnerError(
            _("The slug %(slug)s is taken by %(taken)s: choose another.", slug=slug, taken=taken)
        )
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
    # Its offline reports keep it too: approved ones count, and staff keep the history.
    reports = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OfflineReport)
        .where(OfflineReport.partner_id == partner.id)
    )
    audit.record("partner.remove", partner, slug=partner.slug, letters=letters)
    deleted = letters == 0 and reports == 0
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
    # The frame's name, which screen readers announce, is in the frame's language.
    with force_locale(language or "en"):
        title = _("Write for %(name)s", name=case.in_language(language or "en").name)
    frame = Markup(
        '<iframe src="{src}" title="{title}" width="100%" height="{height}" loading="lazy" '
        "data-w4r-embed></iframe>"
    ).format(src=src, title=title, height=FALLBACK_HEIGHT)
    script = Markup(
        '<script src="{src}" integrity="{integrity}" crossorigin="anonymous" async></script>'
    ).format(src=script_url(), integrity=script_integrity())
    return str(frame + Markup("\n") + script)
