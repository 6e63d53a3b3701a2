"""Migrate a fresh database and register the resource owner and the two applications."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from oauth2_provider.models import get_application_model


class Command(BaseCommand):
    help = "Create the test provider's tables, user and applications."

    def add_arguments(self, parser: CommandParser) -> None:
        for name in ("username", "password", "confidential-id", "confidential-secret", "public-id"):
            parser.add_argument(f"--{name}", required=True)
        parser.add_argument("--redirect-uri", default="http://127.0.0.1/callback")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
        user = get_user_model().objects.create_user(
            options["username"],
            email=f"{options['username']}@example.com",
            password=options["password"],
            first_name=options["username"].capitalize(),
            last_name="Example",
        )
        Application = get_application_model()
        common = {
            "user": user,
            "redirect_uris": options["redirect_uri"],
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "skip_authorization": False,
        }
        # The plain secret goes in; DOT hashes it on save (hash_client_secret=True).
        Application.objects.create(
            name="pac-tui (confidential)",
            client_id=options["confidential_id"],
            client_secret=options["confidential_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            hash_client_secret=True,
            **common,
        )
        Application.objects.create(
            name="pac-tui (public)",
            client_id=options["public_id"],
            client_secret="",
            client_type=Application.CLIENT_PUBLIC,
            **common,
        )
