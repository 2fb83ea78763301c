"""One JSON renderer for every response, so a replayed idempotent response is byte-identical."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from ninja.renderers import JSONRenderer

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


class Renderer(JSONRenderer):
    # Readable non-ASCII (₹, names) instead of \u escapes; still valid UTF-8 JSON.
    json_dumps_params = {"ensure_ascii": False}


renderer = Renderer()


def json_response(data: Any, *, status: int, content_type: str = JSON) -> HttpResponse:
    content = renderer.render(None, data, response_status=status)
    return HttpResponse(content, status=status, content_type=f"{content_type}; charset=utf-8")
