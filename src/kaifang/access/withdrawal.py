"""Withdrawing a dataset on a risk of leaking secrets or personal information (LYG 26).

The entry leaves the open list (``catalog.review.do_withdraw_entry``) and every grant in force is
suspended in the same transaction, so every data path refuses at once: the gate
(``access_data``) serves only public entries and grants in force, and a download already
streaming stops at its next check (``access.downloads``). What was already received is listed
for follow-up by ``access.queries.recipients_of`` (every user, grant and download from the access
log). Publishing the entry again (after a new desensitisation) resumes no grant by itself: the
provider resumes each one that still fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.access.grants import do_suspend_grant
from kaifang.access.models import AccessLog, Grant, GrantStatus
from kaifang.audit.actions import record
from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.review import do_withdraw_entry
from kaifang.i18n import _


@dataclass(frozen=True)
class Withdrawal:
    entry: CatalogEntry
    suspended: list[Grant]
    recipients: int
    """Users and anonymous addresses that received data of the entry before it was withdrawn."""


def _recipient_count(session: Session, entry: CatalogEntry) -> int:
    who = func.coalesce(AccessLog.user_id, AccessLog.client_ip)
    return session.scalar(select(func.count(func.distinct(who))).where(AccessLog.entry_id == entry.id)) or 0


def do_withdraw_dataset(session: Session, actor: Principal, entry: CatalogEntry, reason: str) -> Withdrawal:
    """Withdraws the entry and suspends all its active grants at once; the reason is the
    provider's (kept in the audit trail), the grantees are told only that the dataset was withdrawn."""
    do_withdraw_entry(session, actor, entry, reason)
    active = session.scalars(select(Grant).where(Grant.entry_id == entry.id, Grant.status == GrantStatus.ACTIVE)
                             .order_by(Grant.created_at))
    notice = _("The dataset was withdrawn from the open list (LYG 26).")
    suspended = [do_suspend_grant(session, actor, grant, notice) for grant in active.all()]
    recipients = _recipient_count(session, entry)
    record(session, actor, "dataset.withdraw", target_type="catalog_entry", target_id=entry.id,
           data={"name": entry.name, "reason": reason.strip(), "grants_suspended": [g.id for g in suspended],
                 "recipients": recipients})
    return Withdrawal(entry, suspended, recipients)
