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
from ehrenamt.models.draft import ApplicationDraft
from ehrenamt.models.insight import StatisticsSnapshot
from ehrenamt.models.legacy import LegacyImport, LegacyImportState
from ehrenamt.models.letter import Letter
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
from ehrenamt.models.print_run import PrintLayout, PrintRun, PrintRunCard, PrintRunState
from ehrenamt.models.privacy import (
    DeletionCount,
    PrivacyNotice,
    RetainedRevocation,
    RetentionRun,
)
from ehrenamt.models.recovery_code import RecoveryCode
from ehrenamt.models.rights import (
    DataExport,
    EmailChange,
    ExportState,
    NameChangeRequest,
    NameChangeState,
)
from ehrenamt.models.token import LinkPurpose, OneTimeLink
from ehrenamt.models.user import ADMIN_ROLES, STAFF_ROLES, User, UserRole

__all__ = [
    "ADMIN_ROLES",
    "ANSWERED_CONFIRMATION_STATES",
    "STAFF_ROLES",
    "ApiKey",
    "Application",
    "ApplicationDraft",
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
    "DataExport",
    "DeletionCount",
    "DocumentKind",
    "EmailChange",
    "Engagement",
    "ExportState",
    "LegacyImport",
    "LegacyImportState",
    "Letter",
    "LinkPurpose",
    "NameChangeRequest",
    "NameChangeState",
    "Office",
    "OneTimeLink",
    "OutboxMessage",
    "Partner",
    "PartnerMember",
    "PartnerState",
    "PlaceRule",
    "PrintLayout",
    "PrintRun",
    "PrintRunCard",
    "PrintRunState",
    "PrivacyNotice",
    "Programme",
    "ProgrammeRules",
    "Qualification",
    "RecoveryCode",
    "RejectionReason",
    "RetainedRevocation",
    "RetentionRun",
    "RevocationReason",
    "StatisticsSnapshot",
    "Upload",
    "User",
    "UserRole",
    "Verification",
    "VerificationChannel",
    "utcnow",
]
