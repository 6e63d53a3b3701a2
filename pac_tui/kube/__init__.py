"""Kubernetes: PAC `Repository` resources, the Secrets PAC reads, and the refresher's Lease.

The official `kubernetes` client is blocking and costs ~0.3 s to import, so it is imported only
here, lazily from the commands that need it, and called from threads inside the app.
"""
