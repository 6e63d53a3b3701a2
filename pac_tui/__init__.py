"""pac-tui: GitLab OAuth tokens for Tekton Pipelines-as-Code, without personal access tokens."""

__version__ = "0.1.0"
