"""The use cases both faces call: a rule written once, for the CLI and the dashboard alike."""
