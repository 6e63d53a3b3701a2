"""Where tokens are kept on this machine."""
