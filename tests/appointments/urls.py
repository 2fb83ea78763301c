"""A URL conf for the appointment API tests: the appointments router on an API built like /api/v1 (same
authentication, renderer and problem handlers), so the routes are tested before and after the lead mounts
them in punchcard.api.router."""
from django.urls import path

from punchcard.api.auth import api_key_auth, session_auth
from punchcard.api.problems import install
from punchcard.api.rendering import renderer
from punchcard.api.router import PunchcardAPI
from punchcard.appointments.api import router

api = PunchcardAPI(title="Punchcard appointments (tests)", version="1", urls_namespace="appointments-tests",
               auth=[api_key_auth, session_auth], renderer=renderer)
install(api)
api.add_router("", router)

urlpatterns = [path("api/v1/", api.urls)]
