"""PDF statements print names as written: reportlab reads a Paragraph as markup, so a holder named
``<b>&`` must be escaped (it raised, or turned the rest of the line bold)."""

import base64
import datetime as dt
import re
import zlib
from types import SimpleNamespace

from registry.statements import statement_pdf

NAME = 'Evil <b>& Co "电厂" </para>'
STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\) Tj", re.S)


def _unescape(raw: bytes) -> bytes:
    return re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit()
                  else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(m.group(1), m.group(1)), raw)


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages (reportlab's ASCII85 + Flate streams, UTF-16 strings of the CID font)."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        content = zlib.decompress(base64.a85decode(stream.strip(), adobe=True))
        text += [_unescape(s).decode("utf-16-be") for s in STRING.findall(content)]
    return "".join(text)


def test_a_name_with_markup_characters_prints_as_written():
    account = SimpleNamespace(number="CN-HB-000123", name=NAME, get_kind_display=lambda: "holding",
                              get_status_display=lambda: "open")
    row = {"date": dt.datetime(2024, 5, 6, 10, 0), "transaction": 7, "kind": "transfer", "instrument": "CEA21",
           "counterparty": "<i>x", "received": 100, "sent": 0, "balance": 100, "serials": "<font>1&2"}
    pdf = statement_pdf(account=account, rows=[row], period="2024-01-01 – 2024-12-31")
    text = pdf_text(pdf)
    assert f"{NAME} · holding · open" in text
    assert "<font>1&2" in text and "<i>x" in text
