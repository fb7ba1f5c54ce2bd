"""Kubernetes access. No Textual: connection, list+watch caches, slim records, GPU accounting, actions."""
