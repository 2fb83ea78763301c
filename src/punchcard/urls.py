from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import path

from punchcard.api.router import api

urlpatterns = [
    path("", lambda request: HttpResponseRedirect("/api/v1/docs")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
