"""kube-ml-console: a terminal operations console for machine learning on Kubernetes."""

import os

__version__ = "0.1.0"

# Textual draws at most TEXTUAL_FPS frames a second (60 by default) and read it once, when
# first imported, so it is set here, before anything imports Textual. A key whose answer
# comes from the refresh pipeline's thread (a filter character) shows in two frames — the
# typed key, then the rows — and each waits for the frame timer: at 120 frames a second
# that wait is 8 ms instead of 17. Idle, Textual draws nothing either way. A user's own
# TEXTUAL_FPS wins.
os.environ.setdefault("TEXTUAL_FPS", "120")
