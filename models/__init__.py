"""Every table, with the small behaviours that belong to one row: the campaign's in
campaign.py, delivery batches in delivery.py, offline reports in offline.py, moderation's
text groups and settings in moderation.py, staff accounts in staff.py, supporters'
addresses and rights in supporters.py.
Import them from here: `from models import Letter`."""

from models.campaign import (
    BODY_MAX,
    CITY_MAX,
    COUNTER_SHARDS,
    EMAIL_MAX,
    KINDS,
    MODERATION_STATES,
    NAME_MAX,
    ROLES,
    Case,
    CaseCounter,
    CaseUpdate,
    FlagWord,
    Letter,
    Outbox,
    Partner,
    RejectReason,
    SolidarityText,
    UsedFormToken,
    utcnow,
)
from models.delivery import BATCH_KINDS, BATCH_STATES, SEND_METHODS, DeliveryBatch
from models.moderation import SiteSetting, TextGroup
from models.offline import REPORT_STATES, OfflineReport
from models.staff import (
    AuditEvent,
    StaffKnownAddress,
    StaffLink,
    StaffRecoveryCode,
    StaffUser,
    no_account_hash,
)
from models.supporters import ContactConsent, DataLink, MailAddress, MailEvent

__all__ = [
    "BATCH_KINDS",
    "BATCH_STATES",
    "BODY_MAX",
    "CITY_MAX",
    "COUNTER_SHARDS",
    "EMAIL_MAX",
    "KINDS",
    "MODERATION_STATES",
    "NAME_MAX",
    "REPORT_STATES",
    "ROLES",
    "SEND_METHODS",
    "AuditEvent",
    "Case",
    "CaseCounter",
    "CaseUpdate",
    "ContactConsent",
    "DataLink",
    "DeliveryBatch",
    "FlagWord",
    "Letter",
    "MailAddress",
    "MailEvent",
    "OfflineReport",
    "Outbox",
    "Partner",
    "RejectReason",
    "SiteSetting",
    "SolidarityText",
    "StaffKnownAddress",
    "StaffLink",
    "StaffRecoveryCode",
    "StaffUser",
    "TextGroup",
    "UsedFormToken",
    "no_account_hash",
    "utcnow",
]
