"""Receipts and invoices (SPEC §8.7) for sales, redemptions and refunds, as HTML and PDF.

Issuing a receipt takes the next gap-free number of the tenant's "receipt" sequence (under the
counter's row lock) and freezes the facts it shows: amounts as integers, tax, and for packages the
sessions used and remaining *after this visit* ("Physiotherapy: 4 of 10 used, 6 remaining"),
read from the session ledger up to the entry the receipt is about. Rendering only formats the
stored facts, so a receipt re-rendered next year is the same document (the PDF is byte-identical:
reportlab runs in invariant mode, with no timestamps or random ids). Issuing twice for the same
sale, redemption or refund returns the first receipt.
"""

from .issuing import get_receipt, issue_receipt
from .rendering import render_facts_html, render_facts_pdf, render_html, render_pdf

__all__ = ["get_receipt", "issue_receipt", "render_facts_html", "render_facts_pdf", "render_html", "render_pdf"]
