"""All models, importable from one place (Alembic needs them all loaded)."""

from ehrenamt.models.application import (
    ANSWERED_CONFIRMATION_STATES,
    Application,
    CardType,
    ConfirmationState,
    Engagement,
    RejectionReason,
    Upload,
)
from ehrenamt.models.audit import AuditEntry
from ehrenamt.models.base import Base, utcnow
from ehrenamt.models.card import (
    Card,
    CardBatch,
    CardDocument,
    CardState,
    DocumentKind,
    RevocationReason,
)
from ehrenamt.models.office import Office, PlaceRule, Programme, ProgrammeRules, Qualification
from ehrenamt.models.outbox import OutboxMessage
from ehrenamt.models.partner import (
    ApiKey,
    Benefit,
    Category,
    Partner,
    PartnerMember,
    PartnerState,
    Verification,
    VerificationChannel,
)
from ehrenamt.models.privacy import (
    DeletionCount,
    PrivacyNotice,
    RetainedRevocation,
    RetentionRun,
)
from ehrenamt.models.token import LinkPurpose, OneTimeLink
from ehrenamt.models.user import STAFF_ROLES, User, UserRole

__all__ = [
    "ANSWERED_CONFIRMATION_STATES",
    "STAFF_ROLES",
    "ApiKey",
    "Application",
    "AuditEntry",
    "Base",
    "Benefit",
    "Card",
    "CardBatch",
    "CardDocument",
    "CardState",
    "CardType",
    "Category",
    "ConfirmationState",
    "DeletionCount",
    "DocumentKind",
    "Engagement",
    "LinkPurpose",
    "Office",
    "OneTimeLink",
    "OutboxMessage",
    "Partner",
    "PartnerMember",
    "PartnerState",
    "PlaceRule",
    "PrivacyNotice",
    "Programme",
    "ProgrammeRules",
    "Qualification",
    "RejectionReason",
    "RetainedRevocation",
    "RetentionRun",
    "RevocationReason",
    "Upload",
    "User",
    "UserRole",
    "Verification",
    "VerificationChannel",
    "utcnow",
]
