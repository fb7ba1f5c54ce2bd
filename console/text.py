"""Untrusted text from the cluster, exporters and logs, made safe to display.

Everything that enters the program from outside passes through `clean` where it is
decoded: C0/C1 control characters and ESC/CSI/OSC sequences are removed, so nothing
can move the cursor, retitle the terminal or write the clipboard. Invisible format
characters are removed too — bidi embeddings, overrides and isolates (U+202A–202E,
U+2066–2069), the directional marks (U+200E/200F, U+061C), zero-width characters
(U+200B–200D, U+2060, U+FEFF), the other invisible operators and tag characters —
so a tenant's event message cannot reorder itself on screen or hide a difference
between two names. The line and paragraph separators U+2028/U+2029 become newlines
(`clean`) or spaces (`clean_line`), and lone surrogates (which a terminal cannot
encode) become U+FFFD. Markup is a separate concern: widgets always render these
strings as plain `Text`, never markup.
"""

from __future__ import annotations

import re

# CSI (ESC [ … final), OSC (ESC ] … BEL or ST), other two-byte ESC sequences, then any
# remaining C0 control (but tab/newline) and C1 control character, then the invisible
# format characters: soft hyphen, Arabic letter mark, Mongolian vowel separator,
# zero-width space/joiners and LRM/RLM, bidi embeddings/overrides, word joiner and
# invisible operators, bidi isolates and deprecated format controls, BOM / zero-width
# no-break space, interlinear annotations, tag characters.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
_SEPARATORS = re.compile("[\u2028\u2029]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean(value: object) -> str:
    """Return `value` as a string with control, escape and invisible format characters
    removed (U+2028/U+2029 become newlines)."""
    text = value if isinstance(value, str) else _str(value)
    if text.isprintable():  # printable ASCII and most text: no work
        return text
    text = _ESCAPES.sub("", text)
    if text.isascii():  # the usual slow case: a multi-line message
        return text
    if "\u2028" in text or "\u2029" in text:
        text = _SEPARATORS.sub("\n", text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATES.sub("\ufffd", text)
    return text


def clean_line(value: object) -> str:
    """Like `clean`, for single-line cells: newlines and tabs become spaces."""
    text = clean(value)
    if "\n" in text or "\t" in text:
        text = text.replace("\n", " ").replace("\t", " ")
    return text


def _str(value: object) -> str:
    """`str(value)`, or a placeholder when that raises (a huge int, a broken `__str__`)."""
    try:
        return str(value)
    except Exception:  # ValueError beyond int's digit limit, or any object's own error
        return f"<{type(value).__name__}>"
