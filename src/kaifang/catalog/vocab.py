"""Controlled vocabularies of catalog entries, with their labels for the interface."""

from __future__ import annotations

from enum import StrEnum

from kaifang.i18n import N_


class OpenType(StrEnum):
    """SH 11, CQ 12, LYG 6-7: open is the rule, not opening the exception."""

    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NON_OPEN = "non_open"


OPEN_TYPE_LABELS = {
    OpenType.UNCONDITIONAL: N_("Unconditional"),
    OpenType.CONDITIONAL: N_("Conditional"),
    OpenType.NON_OPEN: N_("Not open"),
}

# Open types that the public may see (metadata only, for conditional ones).
PUBLIC_OPEN_TYPES = (OpenType.UNCONDITIONAL, OpenType.CONDITIONAL)


class ShareType(StrEnum):
    """Sharing between government bodies (政务数据共享): a separate attribute of the same entry."""

    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NOT_SHARED = "not_shared"


SHARE_TYPE_LABELS = {
    ShareType.UNCONDITIONAL: N_("Shared without conditions"),
    ShareType.CONDITIONAL: N_("Shared on conditions"),
    ShareType.NOT_SHARED: N_("Not shared"),
}


class EntryStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


ENTRY_STATUS_LABELS = {
    EntryStatus.DRAFT: N_("Draft"),
    EntryStatus.SUBMITTED: N_("Submitted for review"),
    EntryStatus.RETURNED: N_("Returned"),
    EntryStatus.APPROVED: N_("Approved"),
    EntryStatus.PUBLISHED: N_("Published"),
    EntryStatus.WITHDRAWN: N_("Withdrawn"),
}


class UpdateFrequency(StrEnum):
    REAL_TIME = "real_time"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


UPDATE_FREQUENCY_LABELS = {
    UpdateFrequency.REAL_TIME: N_("Real time"),
    UpdateFrequency.DAILY: N_("Daily"),
    UpdateFrequency.WEEKLY: N_("Weekly"),
    UpdateFrequency.MONTHLY: N_("Monthly"),
    UpdateFrequency.QUARTERLY: N_("Quarterly"),
    UpdateFrequency.HALF_YEARLY: N_("Half-yearly"),
    UpdateFrequency.YEARLY: N_("Yearly"),
    UpdateFrequency.IRREGULAR: N_("Irregular"),
}

# Days after which an update is late (LYG 15); irregular and real-time have none here.
UPDATE_INTERVAL_DAYS = {
    UpdateFrequency.DAILY: 1, UpdateFrequency.WEEKLY: 7, UpdateFrequency.MONTHLY: 31,
    UpdateFrequency.QUARTERLY: 92, UpdateFrequency.HALF_YEARLY: 183, UpdateFrequency.YEARLY: 366,
}


class AccessMode(StrEnum):
    """CQ 13, LYG 18: download, API, or algorithm-model access (results only)."""

    DOWNLOAD = "download"
    API = "api"
    ALGORITHM = "algorithm"


ACCESS_MODE_LABELS = {
    AccessMode.DOWNLOAD: N_("Download"),
    AccessMode.API: N_("API"),
    AccessMode.ALGORITHM: N_("Algorithm access"),
}


class SecurityGrade(StrEnum):
    """Data security grades in the national classification practice (一般 / 重要 / 核心 …)."""

    PUBLIC = "public"
    INTERNAL = "internal"
    SENSITIVE = "sensitive"
    IMPORTANT = "important"
    CORE = "core"


SECURITY_GRADE_LABELS = {
    SecurityGrade.PUBLIC: N_("Public"),
    SecurityGrade.INTERNAL: N_("Internal"),
    SecurityGrade.SENSITIVE: N_("Sensitive"),
    SecurityGrade.IMPORTANT: N_("Important"),
    SecurityGrade.CORE: N_("Core"),
}


class ItemType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    GEOMETRY = "geometry"


ITEM_TYPE_LABELS = {
    ItemType.STRING: N_("Text"),
    ItemType.INTEGER: N_("Integer"),
    ItemType.DECIMAL: N_("Decimal"),
    ItemType.DATE: N_("Date"),
    ItemType.DATETIME: N_("Date and time"),
    ItemType.BOOLEAN: N_("Yes/no"),
    ItemType.GEOMETRY: N_("Geometry"),
}


class Sensitivity(StrEnum):
    NONE = "none"
    PERSONAL = "personal"
    SENSITIVE_PERSONAL = "sensitive_personal"
    COMMERCIAL_SECRET = "commercial_secret"  # noqa: S105 - a label, not a secret
    RESTRICTED = "restricted"


SENSITIVITY_LABELS = {
    Sensitivity.NONE: N_("Not sensitive"),
    Sensitivity.PERSONAL: N_("Personal information"),
    Sensitivity.SENSITIVE_PERSONAL: N_("Sensitive personal information"),
    Sensitivity.COMMERCIAL_SECRET: N_("Commercial secret"),
    Sensitivity.RESTRICTED: N_("Restricted by law"),
}


class Origin(StrEnum):
    """Data obtained from another body through sharing never enters the receiver's open list
    (SH 12, CQ 14)."""

    OWN = "own"
    SHARED_IN = "shared_in"


FORMATS = ("CSV", "XLSX", "JSON", "GeoJSON", "Parquet", "API", "PDF", "XLS", "DOC", "SHP")
OPEN_FORMATS = frozenset({"CSV", "JSON", "GeoJSON", "Parquet", "API", "XLSX", "SHP"})
