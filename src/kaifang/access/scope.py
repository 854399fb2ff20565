"""Who may read which rows and columns of a dataset, decided once per request.

``access_data`` is the one gate every data path goes through (downloads, the row and aggregate
API, the CKAN DataStore, previews, charts):

- only public entries (published, unconditional or conditional, the provider's own) have data
  to serve; anything else is "no such dataset" (404), as in the catalog;
- unconditional data is open to everyone, or only to verified identities where the jurisdiction
  says so (CQ 23 against LYG 9);
- conditional data is served only through a grant in force for this user and this mode, and only
  the grant's columns and rows, with identifiers replaced by pseudonyms keyed for that grant
  (403 otherwise, since the entry itself is public metadata).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.access.columns import Column, ColumnKind, columns_of
from kaifang.access.engine import VersionRef
from kaifang.access.models import Channel, Grant, GrantStatus
from kaifang.access.query import Condition, condition_from_dict
from kaifang.access.sql import ScopeSpec
from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import public_clause
from kaifang.catalog.vocab import AccessMode, OpenType, Sensitivity
from kaifang.config import Settings
from kaifang.datasets.models import DatasetVersion, VersionStatus
from kaifang.datasets.queries import current_version
from kaifang.errors import Forbidden, Gone, InvalidParameter, NotAuthenticated, NotFound
from kaifang.i18n import _
from kaifang.ingest.desensitise import hmac_pads
from kaifang.policy.profiles import load_profile

# Detected kinds that point at one person or body: served to a grantee as per-grant pseudonyms
# when the published version keeps them as they are.
IDENTIFIER_KINDS = frozenset({"resident_id", "uscc", "org_code", "mobile", "landline", "bank_card", "plate",
                              "passport", "hk_macau_permit", "email", "ipv4"})
PERSONAL = frozenset({Sensitivity.PERSONAL, Sensitivity.SENSITIVE_PERSONAL})
# Which modes of the entry (or the grant) let a channel through. A preview or a chart shows less
# than either a download or the API, so either mode allows them.
CHANNEL_MODES: dict[Channel, frozenset[str]] = {
    Channel.DOWNLOAD: frozenset({AccessMode.DOWNLOAD}),
    Channel.API: frozenset({AccessMode.API}),
    Channel.CKAN: frozenset({AccessMode.API}),
    Channel.PREVIEW: frozenset({AccessMode.DOWNLOAD, AccessMode.API}),
    Channel.CHART: frozenset({AccessMode.DOWNLOAD, AccessMode.API}),
}
LNG_NAMES = ("lng", "lon", "longitude", "经度")
LAT_NAMES = ("lat", "latitude", "纬度")


@dataclass(frozen=True)
class Geo:
    """Where a version keeps its positions: a WKT geometry column or a longitude/latitude pair."""

    geometry: str | None = None
    lng: str | None = None
    lat: str | None = None


@dataclass(frozen=True)
class Scope:
    entry_id: str
    entry_name: str
    open_type: str
    version: VersionRef
    version_number: int
    columns: tuple[Column, ...]
    row_filter: tuple[Condition, ...]
    channel: Channel
    user_id: str | None
    grant_id: str | None = None
    pads: tuple[bytes, bytes] | None = None
    geo: Geo | None = None

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @cached_property
    def key(self) -> str:
        """What makes two scopes of one version see the same rows (caches, page tokens)."""
        if self.grant_id is None:
            return "open"
        text = json.dumps([[c.name for c in self.columns], [c.as_dict() for c in self.row_filter]],
                          ensure_ascii=False, sort_keys=True, default=str)
        return f"grant:{self.grant_id}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    @property
    def conditional(self) -> bool:
        return self.grant_id is not None

    def spec(self, alias: str) -> ScopeSpec:
        return ScopeSpec(alias, self.columns, self.row_filter, self.pads)


def grant_secret(settings: Settings, grant_id: str) -> bytes:
    """The key of a grant's pseudonyms: unrelated between grants, so two recipients cannot join
    their copies, and a leaked copy points at exactly one grant."""
    key = (settings.pseudonym_key or settings.secret_key).encode()
    return hmac.new(key, b"kaifang.grant:" + grant_id.encode(), hashlib.sha256).digest()


def identifier_columns(entry: CatalogEntry, version: DatasetVersion) -> frozenset[str]:
    """Columns pointing at people or bodies: pseudonymised in the version already, declared as
    personal information, or detected as identifiers and published as they are."""
    plan = (version.applied_plan or {}).get("columns", {})
    action = {name: (rule or {}).get("action", "keep") for name, rule in plan.items()}
    found = {name for name, act in action.items() if act == "pseudonym"}
    found |= {item.name for item in entry.items if item.sensitivity in PERSONAL and action.get(item.name, "keep")
              in ("keep", "pseudonym")}
    for detected in (version.detection or {}).get("columns", []):
        name = detected.get("column")
        if detected.get("kind") in IDENTIFIER_KINDS and action.get(name, "keep") == "keep":
            found.add(name)
    return frozenset(found)


def geo_of(entry: CatalogEntry, columns: Mapping[str, Column]) -> Geo | None:
    for item in entry.items:
        if item.type == "geometry" and item.name in columns:
            return Geo(geometry=item.name)
    lowered = {name.lower(): name for name, col in columns.items()
               if col.kind in (ColumnKind.NUMBER, ColumnKind.INTEGER, ColumnKind.TEXT)}
    lng = next((lowered[n] for n in LNG_NAMES if n in lowered), None)
    lat = next((lowered[n] for n in LAT_NAMES if n in lowered), None)
    return Geo(lng=lng, lat=lat) if lng and lat else None


def version_ref(version: DatasetVersion) -> VersionRef:
    return VersionRef(version.id, version.storage_key, version.sha256, version.rows,
                      tuple(name for name, _type in version.schema))


def _public_entry(session: Session, name: str) -> CatalogEntry:
    entry = session.scalars(select(CatalogEntry).where(public_clause(), CatalogEntry.name == name)).first()
    if entry is None:
        raise NotFound(_("No such dataset."))
    return entry


def _version(session: Session, entry: CatalogEntry, version_id: str | None) -> DatasetVersion:
    if version_id is None:
        version = current_version(session, entry.id)
        if version is None:
            raise NotFound(_("No data has been published for this dataset yet."))
        return version
    pinned = session.get(DatasetVersion, version_id)
    if pinned is None or pinned.entry_id != entry.id:
        raise InvalidParameter("next", _("Not a page token of this dataset."))
    if pinned.status not in (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED):
        raise Gone(_("The version this page token reads is no longer served. Start again from the first page."))
    return pinned


def _check_identity(settings: Settings, actor: Principal) -> None:
    if not load_profile(settings.jurisdiction).unconditional_requires_verification:
        return
    if not actor.is_authenticated:
        raise NotAuthenticated(_("Log in with a verified identity to use this data: the jurisdiction opens it after "
                                 "identity verification."))
    if not actor.is_verified:
        raise Forbidden(_("Verify your identity on your account page first: the jurisdiction opens this data after "
                          "identity verification."))


def _offered(entry: CatalogEntry, channel: Channel) -> None:
    if not CHANNEL_MODES[channel] & set(entry.access_modes or ()):
        raise Forbidden(_("This dataset is not offered this way. See its access modes."))


def grants_of(session: Session, entry_id: str, user_id: str) -> list[Grant]:
    return list(session.scalars(select(Grant).where(Grant.entry_id == entry_id, Grant.user_id == user_id)
                                .order_by(Grant.created_at.desc())))


def grant_in_force(grants: list[Grant], channel: Channel, today: dt.date) -> Grant:
    """The newest grant letting ``channel`` through today, or a refusal saying why none does."""
    modes = CHANNEL_MODES[channel]
    for grant in grants:
        if grant.in_force_on(today) and modes & set(grant.modes or ()):
            return grant
    if not grants:
        raise Forbidden(_("This dataset is opened on conditions: apply for access and sign the data-use agreement "
                          "first."))
    latest = grants[0]
    if latest.status == GrantStatus.SUSPENDED:
        raise Forbidden(_("Your access to this dataset is suspended: %(reason)s", reason=latest.status_reason))
    if latest.status == GrantStatus.REVOKED:
        raise Forbidden(_("Your access to this dataset was revoked: %(reason)s", reason=latest.status_reason))
    if any(g.status == GrantStatus.ACTIVE and g.valid_until < today for g in grants):
        raise Forbidden(_("Your access to this dataset has expired. Apply again to renew it."))
    if any(g.status == GrantStatus.ACTIVE and g.valid_from > today for g in grants):
        raise Forbidden(_("Your access to this dataset has not started yet."))
    raise Forbidden(_("Your agreement does not include this way of access."))


def _grant_scope(settings: Settings, entry: CatalogEntry, version: DatasetVersion, grant: Grant,
                 all_columns: list[Column]) -> tuple[tuple[Column, ...], tuple[Condition, ...], tuple[bytes, bytes]]:
    identifiers = identifier_columns(entry, version)
    allowed = set(grant.columns or ())
    served = tuple(Column(c.name, c.kind, c.title, c.name in identifiers) for c in all_columns if c.name in allowed)
    raw = {c.name: c for c in all_columns}
    try:
        row_filter = tuple(condition_from_dict(cond, raw) for cond in grant.row_filter or ())
    except InvalidParameter:
        row_filter = ()
        served = ()
    if not served:
        # Fail closed: a scope that no longer fits the data serves nothing.
        raise Forbidden(_("The current version of this dataset no longer matches your agreement. The provider has "
                          "to review your access."))
    return served, row_filter, hmac_pads(grant_secret(settings, grant.id))


def access_data(session: Session, settings: Settings, actor: Principal, name: str, channel: Channel, *,
                today: dt.date, version_id: str | None = None) -> Scope:
    """The scope ``actor`` may read of dataset ``name`` through ``channel``, or the refusal."""
    entry = _public_entry(session, name)
    if entry.open_type == OpenType.UNCONDITIONAL:
        _check_identity(settings, actor)
        _offered(entry, channel)
        grant = None
    else:
        grants = grants_of(session, entry.id, actor.id) if actor.is_authenticated else []
        grant = grant_in_force(grants, channel, today)
    version = _version(session, entry, version_id)
    titles = {item.name: item.title for item in entry.items}
    all_columns = columns_of(version.schema, titles)
    columns: tuple[Column, ...]
    row_filter: tuple[Condition, ...]
    pads: tuple[bytes, bytes] | None
    if grant is None:
        columns, row_filter, pads = tuple(all_columns), (), None
    else:
        columns, row_filter, pads = _grant_scope(settings, entry, version, grant, all_columns)
    served = {c.name: c for c in columns}
    return Scope(entry_id=entry.id, entry_name=entry.name, open_type=entry.open_type, version=version_ref(version),
                 version_number=version.number, columns=columns, row_filter=row_filter, channel=channel,
                 user_id=actor.id or None, grant_id=grant.id if grant else None, pads=pads,
                 geo=geo_of(entry, {n: c for n, c in served.items() if not c.pseudonymised}))


def still_serving(session: Session, entry_id: str, grant_id: str | None, today: dt.date) -> bool:
    """Whether a download that started may go on: the entry is still public and, for conditional
    data, the grant still in force."""
    public = session.scalar(select(CatalogEntry.id).where(public_clause(), CatalogEntry.id == entry_id))
    if public is None:
        return False
    if grant_id is None:
        return True
    grant = session.get(Grant, grant_id)
    return grant is not None and grant.in_force_on(today)
