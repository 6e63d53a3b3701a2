"""Feeds: background work that the dashboard starts, whose results come back as messages."""
