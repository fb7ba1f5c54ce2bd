"""Reusable Textual widgets that take plain data. They never import `console`."""
