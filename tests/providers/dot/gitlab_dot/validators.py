import time
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class GitLabValidator(OAuth2Validator):
    def save_bearer_token(
        self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Save as DOT does, then add ``created_at`` (epoch seconds) to the response, as GitLab."""
        result = super().save_bearer_token(token, request, *args, **kwargs)
        token["created_at"] = int(time.time())
        return result
