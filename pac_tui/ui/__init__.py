"""The Textual dashboard: the app, its screens, widgets, feeds and the messages between them."""
