"""Untrusted text from the cluster, exporters and logs, made safe to display.

Everything that enters the program from outside passes through `clean` where it is
decoded: C0/C1 control characters and ESC/CSI/OSC sequences are removed, so nothing
can move the cursor, retitle the terminal or write the clipboard. Markup is a
separate concern: widgets always render these strings as plain `Text`, never markup.
"""

from __future__ import annotations

import re

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte ESC sequences, then any
# remaining C0 control (but tab/newline) and C1 control character.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def clean(value: object) -> str:
    """Return `value` as a string with control and escape sequences removed."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return _ESCAPES.sub("", text)


def clean_line(value: object) -> str:
    """Like `clean`, for single-line cells: newlines and tabs become spaces."""
    return clean(value).replace("\n", " ").replace("\t", " ")
