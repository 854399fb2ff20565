"""Telling people about cases: an in-app inbox always, e-mail through the mail outbox.

Each text is written in the recipient's language (their preference, else the platform default),
so a message is built by a callable evaluated once per recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from kaifang.auth.models import User
from kaifang.cases.models import Case, Notification
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.i18n import _, reset_locale, set_locale
from kaifang.notify.mail import queue_mail

# (subject, text) in the current locale.
Message = Callable[[], tuple[str, str]]


class Sender(Protocol):
    def send(self, session: Session, user: User, case: Case | None, kind: str, subject: str,
             text: str) -> None: ...


class InAppSender:
    def send(self, session: Session, user: User, case: Case | None, kind: str, subject: str,
             text: str) -> None:
        session.add(Notification(user_id=user.id, case_id=case.id if case else None, kind=kind,
                                 text=f"{subject} · {text}" if subject else text))


class MailSender:
    """Wraps the mail outbox, so the message is kept with the transaction that caused it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, session: Session, user: User, case: Case | None, kind: str, subject: str,
             text: str) -> None:
        if not user.email:
            return
        link = f"\n\n{self.settings.base_url.rstrip('/')}/cases/{case.id}" if case else ""
        queue_mail(session, self.settings, user.email, _("Kaifang: %(subject)s", subject=subject),
                   text + link)


def senders_for(settings: Settings) -> list[Sender]:
    return [InAppSender(), MailSender(settings)]


@contextmanager
def language_of(user: User, settings: Settings) -> Iterator[None]:
    token = set_locale(user.preferred_locale or settings.default_locale)
    try:
        yield
    finally:
        reset_locale(token)


def notify(session: Session, settings: Settings, recipients: Iterable[User], case: Case | None,
           kind: str, message: Message, skip: str | None = None) -> int:
    """Sends ``message`` to every recipient but ``skip`` (the actor); returns how many got it."""
    count = 0
    seen: set[str] = set()
    for user in recipients:
        if user.id == skip or user.id in seen or not user.is_active:
            continue
        seen.add(user.id)
        with language_of(user, settings):
            subject, text = message()
            for sender in senders_for(settings):
                sender.send(session, user, case, kind, subject, text)
        count += 1
    session.flush()
    return count


def mark_read(session: Session, user: User, notification_id: str | None = None) -> int:
    """Marks one (or every) unread notification of ``user`` read; returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = session.execute(stmt.values(read_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
