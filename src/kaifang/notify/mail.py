"""Mail senders. The message is stored in the caller's transaction; SMTP delivery happens after it."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy.orm import Session

from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.notify.models import OutboundMail


class MailSender(Protocol):
    def deliver(self, mail: OutboundMail) -> None: ...


class OutboxSender:
    """Keeps mail in the database only (demo, tests, air-gapped installations)."""

    def deliver(self, mail: OutboundMail) -> None:
        mail.sent_at = utcnow()


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def deliver(self, mail: OutboundMail) -> None:
        msg = EmailMessage()
        msg["From"] = self.settings.mail_from
        msg["To"] = mail.recipient
        msg["Subject"] = mail.subject
        msg.set_content(mail.body)
        try:
            with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=10) as smtp:
                if self.settings.smtp_starttls:
                    smtp.starttls()
                if self.settings.smtp_username:
                    smtp.login(self.settings.smtp_username, self.settings.smtp_password)
                smtp.send_message(msg)
            mail.sent_at = utcnow()
        except (OSError, smtplib.SMTPException) as exc:
            mail.error = str(exc)


def sender_for(settings: Settings) -> MailSender:
    return SmtpSender(settings) if settings.mail_backend == "smtp" else OutboxSender()


def queue_mail(session: Session, settings: Settings, recipient: str, subject: str, body: str) -> OutboundMail:
    mail = OutboundMail(recipient=recipient, subject=subject, body=body, backend=settings.mail_backend)
    session.add(mail)
    sender_for(settings).deliver(mail)
    session.flush()
    return mail
