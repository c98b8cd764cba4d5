"""The PDF certificate of a CCER cancellation or retirement, checkable online by its QR code.

Rendered on request from the public record (nothing to store or keep in sync): the same code
always renders the same facts. Chinese text uses the Adobe CID font STSong-Light built into
reportlab, so no font file is shipped; the QR code (segno) points at the public verification page.
"""

import io

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .models import CreditUse

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLES = {
    CreditUse.Kind.OFFSET: ("国家核证自愿减排量注销证明", "Certificate of CCER cancellation for ETS offset"),
    CreditUse.Kind.RETIREMENT: ("国家核证自愿减排量自愿注销证明", "Certificate of voluntary CCER retirement"),
}


def serial_text(use: CreditUse) -> list[str]:
    """The serial ranges as the registry renders them (``CN-CCER-...-000000000001…000000000100``)."""
    return [row["range"] for row in use.serials]


def certificate_pdf(use: CreditUse, verify_url: str) -> bytes:
    """One A4 page: title, facts in Chinese and English, serial ranges, QR to ``verify_url``."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1)
    pdf.setTitle(f"CCER {use.code}")
    width, height = A4
    title_zh, title_en = TITLES[use.kind]
    pdf.setFont(FONT, 20)
    pdf.drawCentredString(width / 2, height - 35 * mm, title_zh)
    pdf.setFont("Helvetica", 12)
    pdf.drawCentredString(width / 2, height - 43 * mm, title_en)
    rows = [
        ("证明编号 Certificate code", use.code),
        ("日期 Date", use.used_on.isoformat()),
        ("受益方 Beneficiary", use.beneficiary),
        ("用途 Purpose", f"{use.get_purpose_display()} {use.purpose_detail}".strip()),
        ("数量 Quantity", f"{use.quantity:,} tCO2e"),
        ("项目 Project", f"{use.project.registration_number or use.project.ref} {use.project.title}"),
        ("方法学 Methodology", use.project.methodology.code),
        ("年份 Vintage", str(use.vintage)),
        ("品种 Instrument", use.instrument_code),
    ]
    if use.compliance_year:
        rows.append(("履约年度 Compliance year", str(use.compliance_year)))
    y = height - 62 * mm
    for label, value in rows:
        pdf.setFont(FONT, 10)
        pdf.drawString(25 * mm, y, label)
        pdf.setFont(FONT, 11)
        pdf.drawString(80 * mm, y, str(value)[:70])
        y -= 8 * mm
    pdf.setFont(FONT, 10)
    pdf.drawString(25 * mm, y, "序列号 Serial numbers")
    for line in serial_text(use)[:12]:
        pdf.drawString(80 * mm, y, line)
        y -= 6 * mm
    qr = segno.make(verify_url, error="m")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=6, border=2)
    png.seek(0)
    pdf.drawImage(ImageReader(png), width - 65 * mm, 25 * mm, 40 * mm, 40 * mm)
    pdf.setFont(FONT, 9)
    pdf.drawString(25 * mm, 40 * mm, "扫码或访问以下地址核验 Scan or visit to verify online:")
    pdf.drawString(25 * mm, 34 * mm, verify_url[:95])
    pdf.drawString(25 * mm, 25 * mm, "全国温室气体自愿减排注册登记系统 · CETS")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
