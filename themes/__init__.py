"""Textual themes and the .tcss files."""
