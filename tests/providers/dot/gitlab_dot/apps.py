from django.apps import AppConfig
from django.db.models.signals import pre_delete


class GitLabDotConfig(AppConfig):
    name = "gitlab_dot"

    def ready(self) -> None:
        from oauth2_provider.models import get_access_token_model

        from .models import remember_revoked

        pre_delete.connect(remember_revoked, sender=get_access_token_model())
