from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .models import TokenRequest


def count_token_requests(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Count every POST to /oauth/token by grant_type, before DOT sees it."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path == "/oauth/token":
            TokenRequest.objects.create(grant_type=request.POST.get("grant_type", ""))
        return get_response(request)

    return middleware
