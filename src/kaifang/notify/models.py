from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kaifang.db import Base, IdMixin, utcnow


class OutboundMail(IdMixin, Base):
    """Every e-mail the platform sends; with the outbox backend it stays here to be read."""

    __tablename__ = "outbound_mail"

    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    backend: Mapped[str] = mapped_column(String(20), default="outbox")
    error: Mapped[str] = mapped_column(Text, default="")
