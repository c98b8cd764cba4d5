"""Account statements as PDF (reportlab, CID font STSong-Light so Chinese names render without a font file)."""

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def statement_pdf(*, account, rows: list[dict], period: str) -> bytes:
    """A landscape A4 statement: holder, period, then every leg with its running balance and serials."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"{account.number} statement")
    title = ParagraphStyle("t", fontName=FONT, fontSize=14, leading=18)
    body = ParagraphStyle("b", fontName=FONT, fontSize=8, leading=10)
    # Paragraph reads its text as markup: a holder's name like "<b>&Co" must print as written, so
    # every value is escaped (table cells that are plain strings are drawn as they are).
    story = [
        Paragraph(escape(f"{_('Registry account statement')} · {account.number}"), title),
        Paragraph(escape(f"{account.name} · {account.get_kind_display()} · {account.get_status_display()}"), body),
        Paragraph(escape(f"{_('Period')}: {period} · {_('Generated')}: {timezone.localtime():%Y-%m-%d %H:%M}"),
                  body),
        Spacer(1, 4 * mm),
    ]
    header = [_("Date"), _("Transaction"), _("Kind"), _("Instrument"), _("Counterparty"), _("Received"),
              _("Sent"), _("Balance"), _("Serial numbers")]
    data = [header] + [[f"{r['date']:%Y-%m-%d %H:%M}", str(r["transaction"]), r["kind"], r["instrument"],
                        r["counterparty"], f"{r['received']:,}", f"{r['sent']:,}", f"{r['balance']:,}",
                        Paragraph(escape(r["serials"]), body)] for r in rows]
    if not rows:
        data.append([_("No movements in this period."), "", "", "", "", "", "", "", ""])
    table = Table(data, repeatRows=1, colWidths=[28 * mm, 18 * mm, 26 * mm, 24 * mm, 28 * mm, 22 * mm, 22 * mm,
                                                 24 * mm, 78 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8efe9")),
        ("ALIGN", (5, 1), (7, -1), "RIGHT"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story.append(table)
    doc.build(story)
    return buf.getvalue()
