"""HTML answers under the Content-Security-Policy (settings.CONTENT_SECURITY_POLICY).

The policy allows no inline styles. A self-contained document that carries its own <style> block (a
receipt, which must look right when saved or mailed) allows exactly those blocks, by their SHA-256
hashes, on its own response.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape

from django.http import HttpResponse

_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)


def style_hashes(html: str, *, in_svg: bool = False) -> list[str]:
    """CSP sources for each <style> block of a document: 'sha256-…' of its text as the browser reads it —
    exactly as written in HTML; with entities decoded inside inline SVG (XML text: `&gt;` is `>`)."""
    blocks = _STYLE.findall(html)
    if in_svg:
        blocks = [unescape(block) for block in blocks]
    digests = (hashlib.sha256(block.encode()).digest() for block in blocks)
    return [f"'sha256-{base64.b64encode(d).decode()}'" for d in digests]


def page_with_inline_styles(html: str, *, status: int = 200) -> HttpResponse:
    response = HttpResponse(html, status=status, content_type="text/html; charset=utf-8")
    hashes = style_hashes(html)
    if hashes:
        response._csp_update = {"style-src": hashes}  # django-csp adds them to this response's policy
    return response
