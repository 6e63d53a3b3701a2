"""GitLab over HTTP: the one client factory, the REST API and the endpoints pac-tui calls."""
