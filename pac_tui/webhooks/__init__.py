"""Webhooks: receiver, durable journal, event summaries, relay, replay and the smee source."""
