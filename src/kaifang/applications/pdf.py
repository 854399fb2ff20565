"""The agreement as a PDF: the exact stored text, its SHA-256 on every page, and the record of the
acceptances and of the authority's review. Written in Chinese, like the agreement itself, with
reportlab's built-in CID font STSong-Light, so no font file is needed."""

from __future__ import annotations

import datetime as dt
import io
import re
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from kaifang.applications.agreements import in_chinese
from kaifang.applications.models import PARTY_LABELS, Agreement, Party, ReviewOutcome
from kaifang.i18n import N_, _

FONT = "STSong-Light"
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
ARTICLE = re.compile(r"^第[一二三四五六七八九十百]+条")

pdfmetrics.registerFont(UnicodeCIDFont(FONT))
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=17, wordWrap="CJK", spaceAfter=2)
_ARTICLE = ParagraphStyle("article", parent=_BODY, fontSize=11.5, leading=19, spaceBefore=8, spaceAfter=3)
_TITLE = ParagraphStyle("title", parent=_BODY, fontSize=17, leading=26, alignment=1, spaceAfter=10)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=11)
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=8.5, leading=12, spaceAfter=0)


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _paragraphs(agreement: Agreement) -> list[Paragraph | Spacer]:
    lines = agreement.text.splitlines()
    # The first line repeats the title, which the page sets on its own.
    if lines and lines[0].strip() == agreement.title.strip():
        lines = lines[1:]
    flow: list[Paragraph | Spacer] = [Paragraph(escape(agreement.title), _TITLE)]
    for line in lines:
        if not line.strip():
            flow.append(Spacer(1, 4))
            continue
        style = _ARTICLE if ARTICLE.match(line.strip()) else _BODY
        flow.append(Paragraph(escape(line).replace("　", "&#12288;"), style))
    return flow


def _cell(value: str) -> Paragraph:
    return Paragraph(escape(value), _CELL)


def _record_table(agreement: Agreement) -> Table:
    header = [_cell(_(h)) for h in (N_("Party"), N_("Account"), N_("Accepted at (Beijing time)"),
                                    N_("Network address"), N_("SHA-256 of the text accepted"))]
    rows = [header]
    for party in Party:
        acceptance = agreement.accepted_by(party)
        rows.append([_cell(_(PARTY_LABELS[party])),
                     _cell(acceptance.user.username if acceptance else _("Not yet accepted")),
                     _cell(_when(acceptance.accepted_at) if acceptance else ""),
                     _cell(acceptance.client_ip if acceptance else ""),
                     _cell(acceptance.sha256 if acceptance else "")])
    table = Table(rows, colWidths=[24 * mm, 26 * mm, 32 * mm, 26 * mm, 62 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa8bb")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _review_line(agreement: Agreement) -> str:
    if agreement.review_outcome == ReviewOutcome.APPROVED:
        who = agreement.reviewed_by.username if agreement.reviewed_by else ""
        return _("Reviewed and approved by the authority (%(who)s) on %(when)s.", who=who,
                 when=_when(agreement.reviewed_at))
    if agreement.review_outcome == ReviewOutcome.REJECTED:
        return _("Not approved by the authority on %(when)s: %(reason)s", when=_when(agreement.reviewed_at),
                 reason=agreement.review_reason)
    if agreement.review_submitted_at is not None:
        return _("Sent to the authority for review on %(when)s.", when=_when(agreement.review_submitted_at))
    return ""


def agreement_pdf(agreement: Agreement) -> bytes:
    """The PDF of one agreement, in Chinese whatever the reader's interface language."""
    buffer = io.BytesIO()

    def decorate(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#5f6b7a"))
        canvas.drawString(18 * mm, 10 * mm, _("Agreement %(number)s, text SHA-256 %(sha)s, page %(page)s",
                                               number=agreement.number, sha=agreement.sha256, page=doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=agreement.title, author="Kaifang",
                            subject=agreement.number)
    with in_chinese():
        facts = _("Made from template version %(n)s on %(when)s. The SHA-256 of the text above is %(sha)s.",
                  n=agreement.template_number, when=_when(agreement.created_at), sha=agreement.sha256)
        story = [*_paragraphs(agreement), Spacer(1, 10), Paragraph(escape(_("Record of acceptance")), _ARTICLE),
                 Paragraph(escape(facts), _SMALL), Spacer(1, 4), _record_table(agreement)]
        review = _review_line(agreement)
        if review:
            story += [Spacer(1, 6), Paragraph(escape(review), _BODY)]
        doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
