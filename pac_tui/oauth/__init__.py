"""OAuth grants: login (browser and device), refresh, revoke, the refresh schedule."""
