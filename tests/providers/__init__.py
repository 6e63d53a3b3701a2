"""Real OAuth providers set up like GitLab, started by the tests on 127.0.0.1.

See docs/ARCHITECTURE.md, Tests.
"""
