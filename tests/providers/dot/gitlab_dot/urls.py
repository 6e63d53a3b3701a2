from django.contrib.auth.views import LoginView
from django.urls import include, path
from oauth2_provider.views import RevokeTokenView, TokenView

from . import views

# GitLab's paths, without DOT's trailing slashes; DOT's own URL names, for its reverse() calls.
oauth_patterns = [
    path("oauth/authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("oauth/token", TokenView.as_view(), name="token"),
    path("oauth/revoke", RevokeTokenView.as_view(), name="revoke-token"),
    path("oauth/token/info", views.token_info, name="token-info"),
]

urlpatterns = [
    path("", include((oauth_patterns, "oauth2_provider"))),
    path("users/sign_in", LoginView.as_view(template_name="login.html"), name="login"),
    path("api/v4/user", views.current_user),
    path("test/active", views.active),
    path("test/token-requests", views.token_requests),
]
