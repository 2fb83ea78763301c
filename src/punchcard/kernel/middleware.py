"""Response headers for authenticated API answers.

A JSON answer to a request that carried credentials (an API key, or a staff session) holds one
tenant's data: `Cache-Control: no-store` keeps it out of browser and proxy caches. The
Content-Security-Policy on HTML pages is django-csp's (settings.CONTENT_SECURITY_POLICY).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.cache import patch_cache_control


def _has_credentials(request) -> bool:
    if request.headers.get("Authorization"):
        return True
    user = getattr(request, "user", None)
    return settings.SESSION_COOKIE_NAME in request.COOKIES and user is not None and user.is_authenticated


class NoStoreForCallers:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if ("json" in content_type or content_type.startswith("text/csv")) and _has_credentials(request):
            patch_cache_control(response, no_store=True, private=True)
        return response
