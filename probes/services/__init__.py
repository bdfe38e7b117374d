"""The probes app's write side: hosts, the catalogue, runs and ingest."""
