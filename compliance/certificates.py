"""The PDF completion certificate of one entity's obligation, checkable online by its QR code.

Rendered on request from the certificate's signed content (nothing else is read), so the PDF says
exactly what the verification code covers. Chinese uses reportlab's built-in Adobe CID font
STSong-Light (no font file shipped); the QR code (segno) points at the public verification page.
"""

import io

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .models import Certificate

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

STATUS_TEXT = {"compliant": "按时足额完成 Compliant", "compliant_late": "逾期完成 Compliant late"}


def certificate_rows(cert: Certificate) -> list[tuple[str, str]]:
    c = cert.content
    return [
        ("重点排放单位 Entity", c["entity"]),
        ("统一社会信用代码 Credit code", c["credit_code"]),
        ("履约周期 Cycle", c["cycle"]),
        ("履约年度 Year", str(c["year"])),
        ("清缴义务 Obligation", f"{c['obligation_tco2']:,} tCO2e"),
        ("清缴配额 CEAs surrendered", f"{c['cea_tco2']:,} t"),
        ("抵销CCER CCERs used", f"{c['ccer_tco2']:,} t"),
        ("状态 Status", STATUS_TEXT.get(c["status"], c["status"])),
        ("完成日期 Completed on", c["completed_on"] or "-"),
    ]


def certificate_pdf(cert: Certificate, verify_url: str) -> bytes:
    """One A4 page: title, the certified facts in Chinese and English, the code and a QR to ``verify_url``."""
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4, invariant=1)
    pdf.setTitle(f"Compliance certificate {cert.code}")
    width, height = A4
    pdf.setFont(FONT, 20)
    pdf.drawCentredString(width / 2, height - 35 * mm, "全国碳排放权交易市场配额清缴完成证明")
    pdf.setFont("Helvetica", 12)
    pdf.drawCentredString(width / 2, height - 43 * mm, "National ETS: certificate of compliance completion")
    y = height - 62 * mm
    for label, value in certificate_rows(cert):
        pdf.setFont(FONT, 10)
        pdf.drawString(25 * mm, y, label)
        pdf.drawString(85 * mm, y, str(value))
        y -= 8 * mm
    pdf.setFont(FONT, 10)
    pdf.drawString(25 * mm, y - 6 * mm, "验证码 Verification code")
    pdf.setFont("Courier-Bold", 11)
    pdf.drawString(85 * mm, y - 6 * mm, cert.code)
    qr = io.BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=4, border=2)
    qr.seek(0)
    pdf.drawImage(ImageReader(qr), width - 65 * mm, 25 * mm, 40 * mm, 40 * mm)
    pdf.setFont(FONT, 8)
    pdf.drawString(25 * mm, 30 * mm, "扫描二维码或访问以下地址核验 Scan or visit to verify:")
    pdf.drawString(25 * mm, 25 * mm, verify_url)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
