from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from punchcard.api.router import api
from punchcard.kernel.problems import problem


@csrf_exempt
def api_not_found(request, rest: str = ""):
    # A URL under the API that no route matches (e.g. /packages/abc/x) still answers as the API does.
    return problem(status=404, code="not_found", detail=f"no such resource: {request.path}")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # [\s\S] and \Z: a path with an encoded newline (%0A) is still the API's, answered with a problem.
    re_path(r"^api/v1/(?P<rest>[\s\S]*)\Z", api_not_found),
    path("portal/", include("punchcard.portal.urls")),
    path("", include("punchcard.console.urls")),
]
