"""The login throttle's place among Django's authentication backends (settings.AUTHENTICATION_BACKENDS).

django-axes checks every login made from a request (the admin's, the staff console's LoginView) and
refuses a locked-out user name and address before any password is compared. A call to authenticate()
without a request (a management shell, Django's test client `login()`) has no address to count and
no one to show a lockout page to: it is passed on to the password check unthrottled instead of
failing, as axes' own backend would.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LoginThrottle(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None  # not a login over HTTP: nothing to throttle
        return super().authenticate(request, username=username, password=password, **kwargs)
