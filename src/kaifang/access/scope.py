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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from kaifang.access.columns import Column, ColumnKind, columns_of
from kaifang.access.engine import Lru, VersionRef
from kaifang.access.models import Channel, Grant, GrantStatus
from kaifang.access.query import Condition, condition_from_dict
from kaifang.access.sql import ScopeSpec
from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry, DataItem
from kaifang.catalog.visibility import public_clause
from kaifang.catalog.vocab import AccessMode, OpenType, Sensitivity
from kaifang.config import Settings
from kaifang.datasets.models import DatasetVersion, VersionStatus
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


@dataclass(frozen=True)
class Item:
    """What the gate needs of a data item (its title, declared type and sensitivity)."""

    name: str
    title: str
    type: str
    sensitivity: str


def _identifiers(plan: Mapping[str, Any] | None, detection: Mapping[str, Any] | None,
                 items: Sequence[Item]) -> frozenset[str]:
    rules = (plan or {}).get("columns", {})
    action = {name: (rule or {}).get("action", "keep") for name, rule in rules.items()}
    found = {name for name, act in action.items() if act == "pseudonym"}
    found |= {item.name for item in items if item.sensitivity in PERSONAL
              and action.get(item.name, "keep") in ("keep", "pseudonym")}
    for detected in (detection or {}).get("columns", []):
        name = detected.get("column")
        if detected.get("kind") in IDENTIFIER_KINDS and action.get(name, "keep") == "keep":
            found.add(name)
    return frozenset(found)


def identifier_columns(entry: CatalogEntry, version: DatasetVersion) -> frozenset[str]:
    """Columns pointing at people or bodies: pseudonymised in the version already, declared as
    personal information, or detected as identifiers and published as they are."""
    items = [Item(i.name, i.title, i.type, i.sensitivity) for i in entry.items]
    return _identifiers(version.applied_plan, version.detection, items)


def geo_of(items: Sequence[Item], columns: Mapping[str, Column]) -> Geo | None:
    for item in items:
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


# The lookups below run on every data request: a few columns with Core statements rather than
# ORM objects (whose loading, and JSON reports decoded for nothing, cost more than the queries);
# what never changes is kept per process: a version's identifier columns, and an entry's items as
# of its last change (``updated_at`` moves whenever its items do).
_E, _V, _I = CatalogEntry.__table__.c, DatasetVersion.__table__.c, DataItem.__table__.c
_ENTRY_COLUMNS = (_E.id, _E.name, _E.open_type, _E.access_modes, _E.updated_at)
_VERSION_COLUMNS = (_V.id, _V.number, _V.storage_key, _V.sha256, _V.rows, _V.schema, _V.status)
_IDENTIFIERS = Lru(10_000)
_ITEMS = Lru(10_000)


@dataclass(frozen=True)
class _Found:
    entry_id: str
    name: str
    open_type: str
    access_modes: tuple[str, ...]
    updated_at: Any
    version: tuple[Any, ...] | None
    """The version's columns (None: no published version, or not the pinned one)."""


def _lookup_statement(pinned: bool) -> Any:
    which = (_V.id == bindparam("version_id")) if pinned else (_V.status == VersionStatus.PUBLISHED)
    return (select(*_ENTRY_COLUMNS, *_VERSION_COLUMNS)
            .select_from(CatalogEntry.__table__.outerjoin(DatasetVersion.__table__, and_(_V.entry_id == _E.id, which)))
            .where(public_clause(), _E.name == bindparam("name")))


# Built once: making a statement costs SQLAlchemy forty times what SQLite takes to run it.
_CURRENT, _PINNED = _lookup_statement(False), _lookup_statement(True)
_ITEMS_OF = (select(_I.name, _I.title, _I.type, _I.sensitivity).where(_I.entry_id == bindparam("entry_id"))
             .order_by(_I.position))
_REPORTS_OF = select(_V.applied_plan, _V.detection).where(_V.id == bindparam("version_id"))


def _lookup(session: Session, name: str, version_id: str | None) -> _Found:
    """The public entry ``name`` with its current version (or the pinned one), in one statement."""
    params = {"name": name, "version_id": version_id} if version_id else {"name": name}
    row = session.connection().execute(_PINNED if version_id else _CURRENT, params).first()
    if row is None:
        raise NotFound(_("No such dataset."))
    width = len(_ENTRY_COLUMNS)
    version = tuple(row[width:]) if row[width] is not None else None
    return _Found(row[0], row[1], row[2], tuple(row[3] or ()), row[4], version)


def _items(session: Session, found: _Found) -> list[Item]:
    key = (found.entry_id, found.updated_at)
    cached = _ITEMS.get(key)
    if cached is None:
        rows = session.connection().execute(_ITEMS_OF, {"entry_id": found.entry_id})
        cached = [Item(*row) for row in rows]
        _ITEMS.put(key, cached)
    return list(cached)


def _checked_version(found: _Found, version_id: str | None) -> tuple[VersionRef, int, list[list[str]]]:
    if found.version is None:
        if version_id is not None:
            raise InvalidParameter("next", _("Not a page token of this dataset."))
        raise NotFound(_("No data has been published for this dataset yet."))
    vid, number, key, sha, rows, schema, status = found.version
    if version_id is not None and status not in (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED):
        raise Gone(_("The version this page token reads is no longer served. Start again from the first page."))
    return VersionRef(vid, key, sha, rows, tuple(n for n, _type in schema)), number, schema


def _version_identifiers(session: Session, version_id: str, items: Sequence[Item]) -> frozenset[str]:
    cached = _IDENTIFIERS.get(version_id)
    if cached is None:
        plan, detection = session.connection().execute(_REPORTS_OF, {"version_id": version_id}).one()
        cached = (plan, detection)
        _IDENTIFIERS.put(version_id, cached)
    return _identifiers(cached[0], cached[1], items)


def _check_identity(settings: Settings, actor: Principal) -> None:
    if not load_profile(settings.jurisdiction).unconditional_requires_verification:
        return
    if not actor.is_authenticated:
        raise NotAuthenticated(_("Log in with a verified identity to use this data: the jurisdiction opens it after "
                                 "identity verification."))
    if not actor.is_verified:
        raise Forbidden(_("Verify your identity on your account page first: the jurisdiction opens this data after "
                          "identity verification."))


def _offered(access_modes: Sequence[str], channel: Channel) -> None:
    if not CHANNEL_MODES[channel] & set(access_modes):
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


def _grant_scope(settings: Settings, identifiers: frozenset[str], grant: Grant,
                 all_columns: list[Column]) -> tuple[tuple[Column, ...], tuple[Condition, ...], tuple[bytes, bytes]]:
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
    found = _lookup(session, name, version_id)
    if found.open_type == OpenType.UNCONDITIONAL:
        _check_identity(settings, actor)
        _offered(found.access_modes, channel)
        grant = None
    else:
        grants = grants_of(session, found.entry_id, actor.id) if actor.is_authenticated else []
        grant = grant_in_force(grants, channel, today)
    version, number, schema = _checked_version(found, version_id)
    items = _items(session, found)
    all_columns = columns_of(schema, {item.name: item.title for item in items})
    columns: tuple[Column, ...]
    row_filter: tuple[Condition, ...]
    pads: tuple[bytes, bytes] | None
    if grant is None:
        columns, row_filter, pads = tuple(all_columns), (), None
    else:
        identifiers = _version_identifiers(session, version.id, items)
        columns, row_filter, pads = _grant_scope(settings, identifiers, grant, all_columns)
    served = {c.name: c for c in columns if not c.pseudonymised}
    return Scope(entry_id=found.entry_id, entry_name=found.name, open_type=found.open_type, version=version,
                 version_number=number, columns=columns, row_filter=row_filter, channel=channel,
                 user_id=actor.id or None, grant_id=grant.id if grant else None, pads=pads,
                 geo=geo_of(items, served))


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
