"""GitLab-shaped endpoints around DOT's tokens, and the test-only endpoints."""

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.views import AuthorizationView

from .models import RevokedAccessToken, TokenRequest

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

USER_SCOPES = {"api", "read_user"}


class AuthorizeView(AuthorizationView):
    """DOT's authorization view that always asks for consent, whatever the client sends."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "approval_prompt" in request.GET:
            query = request.GET.copy()
            del query["approval_prompt"]
            request.GET = query
        return super().get(request, *args, **kwargs)


def _checksum(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _lookup(request: HttpRequest) -> tuple[Any, str]:
    """The request's access token and, when it is not usable, why: expired/revoked/invalid."""
    raw = _bearer(request)
    if not raw:
        return None, "invalid"
    checksum = _checksum(raw)
    token = (
        AccessToken.objects.select_related("user", "application")
        .filter(token_checksum=checksum)
        .first()
    )
    if token is None:
        revoked = RevokedAccessToken.objects.filter(token_checksum=checksum).exists()
        return None, "revoked" if revoked else "invalid"
    return token, "expired" if token.is_expired() else ""


def _invalid_token(description: str) -> JsonResponse:
    response = JsonResponse(
        {"error": "invalid_token", "error_description": description}, status=401
    )
    response["WWW-Authenticate"] = (
        f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{description}"'
    )
    return response


TOKEN_INFO_ERRORS = {
    "invalid": "The access token is invalid",
    "expired": "The access token expired",
    "revoked": "The access token was revoked",
}


@require_GET
def token_info(request: HttpRequest) -> JsonResponse:
    """GitLab's ``GET /oauth/token/info`` (Doorkeeper's, plus GitLab's two aliases)."""
    token, problem = _lookup(request)
    if problem:
        return _invalid_token(TOKEN_INFO_ERRORS[problem])
    scopes = token.scope.split()
    expires_in = max(0, int((token.expires - timezone.now()).total_seconds()))
    return JsonResponse(
        {
            "resource_owner_id": token.user_id,
            "scope": scopes,
            "expires_in": expires_in,
            "application": {"uid": token.application.client_id},
            "created_at": int(token.created.timestamp()),
            "scopes": scopes,
            "expires_in_seconds": expires_in,
        }
    )


API_ERRORS = {
    "expired": "Token is expired. You can either do re-authorization or token refresh.",
    "revoked": "Token was revoked. You have to re-authorize from the user.",
}


@require_GET
def current_user(request: HttpRequest) -> JsonResponse:
    """GitLab's ``GET /api/v4/user`` for an OAuth access token sent as a Bearer token."""
    token, problem = _lookup(request)
    if problem == "invalid":
        return JsonResponse({"message": "401 Unauthorized"}, status=401)
    if problem:
        return _invalid_token(API_ERRORS[problem])
    if not USER_SCOPES & set(token.scope.split()):
        description = "The request requires higher privileges than provided by the access token."
        response = JsonResponse(
            {
                "error": "insufficient_scope",
                "error_description": description,
                "scope": "api read_user",
            },
            status=403,
        )
        response["WWW-Authenticate"] = (
            f'Bearer realm="Protected by OAuth 2.0", error="insufficient_scope", '
            f'error_description="{description}", scope="api read_user"'
        )
        return response
    user = token.user
    base = request.build_absolute_uri("/")
    return JsonResponse(
        {
            "id": user.pk,
            "username": user.username,
            "name": user.get_full_name() or user.username,
            "state": "active",
            "locked": False,
            "avatar_url": f"{base}uploads/-/system/user/avatar/{user.pk}/avatar.png",
            "web_url": f"{base}{user.username}",
            "created_at": user.date_joined.isoformat().replace("+00:00", "Z"),
            "bot": False,
            "public_email": None,
            "email": user.email,
        }
    )


@require_GET
def active(request: HttpRequest) -> JsonResponse:
    """Test only: does DOT still accept this access or refresh token?"""
    checksum = _checksum(request.GET.get("token", ""))
    access = AccessToken.objects.filter(token_checksum=checksum, expires__gt=timezone.now())
    # A refresh token whose access token is gone is an orphan, which DOT refuses too.
    refresh = RefreshToken.objects.filter(
        token_checksum=checksum, revoked__isnull=True, access_token__isnull=False
    )
    return JsonResponse({"active": access.exists() or refresh.exists()})


@require_GET
def token_requests(request: HttpRequest) -> JsonResponse:
    """Test only: POSTs to /oauth/token with this grant_type since start, any outcome."""
    grant_type = request.GET.get("grant_type", "")
    return JsonResponse({"count": TokenRequest.objects.filter(grant_type=grant_type).count()})
