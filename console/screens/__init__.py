"""Textual screens, one per view."""
