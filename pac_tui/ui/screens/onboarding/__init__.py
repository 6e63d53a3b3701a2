"""The onboarding walkthrough: from nothing configured to PAC running pipelines for a repository."""
