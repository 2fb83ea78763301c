from django.urls import path

from . import urls_desk, urls_manage
from .views import auth

app_name = "console"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("centre/", auth.choose_centre, name="centre"),
    *urls_desk.urlpatterns,
    *urls_manage.urlpatterns,
]
