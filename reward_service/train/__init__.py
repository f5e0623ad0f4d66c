"""Offline data building and training of the probe head (not imported by the service)."""
