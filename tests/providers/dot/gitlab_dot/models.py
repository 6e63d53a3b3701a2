"""Bookkeeping that DOT does not keep (no migrations: created by ``migrate --run-syncdb``)."""

from typing import Any

from django.db import models


class TokenRequest(models.Model):
    """One POST to /oauth/token, whatever its outcome."""

    grant_type = models.CharField(max_length=100, db_index=True)


class RevokedAccessToken(models.Model):
    """DOT revokes an access token by deleting it; GitLab keeps it and says it was revoked."""

    token_checksum = models.CharField(max_length=64, db_index=True)


def remember_revoked(sender: type, instance: Any, **kwargs: Any) -> None:
    RevokedAccessToken.objects.create(token_checksum=instance.token_checksum)
