"""Logging in and out, and choosing the centre the desk works at."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from ..access import CENTRE_KEY, desk_view


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "console:login"


@require_POST
@desk_view(perm=None)
def choose_centre(request):
    centre_id = request.POST.get("centre_id", "")
    if centre_id.isdigit() and any(c.id == int(centre_id) for c in request.desk.centres):
        request.session[CENTRE_KEY] = int(centre_id)
    return redirect(request.POST.get("next") or "console:today")
