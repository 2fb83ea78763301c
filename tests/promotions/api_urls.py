"""A URLconf for the API tests of promotions, reports and receipts: the real API's routers plus ours.

(ninja routers are templates, so mounting them here does not stop api/router.py mounting them too.)
"""
from django.urls import path

from punchcard.api.auth import api_key_auth, session_auth
from punchcard.api.problems import install
from punchcard.api.rendering import renderer
from punchcard.api.router import PunchcardAPI, problems_router

api = PunchcardAPI(title="Punchcard API (promotions tests)", version="1-test", urls_namespace="api-v1-promotions",
                   auth=[api_key_auth, session_auth], renderer=renderer)
install(api)


def _mount() -> None:
    from punchcard.billing.api import router as billing
    from punchcard.billing.receipts_api import router as receipts
    from punchcard.catalogue.api import router as catalogue
    from punchcard.packages.api import router as packages
    from punchcard.promotions.api import router as promotions
    from punchcard.reports.api import router as reports
    from punchcard.tenancy.api import router as tenancy

    for router in (tenancy, catalogue, billing, packages, problems_router, promotions, reports, receipts):
        api.add_router("", router)


_mount()
urlpatterns = [path("api/v1/", api.urls)]
