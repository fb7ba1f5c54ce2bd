"""`console.text`: what reaches the screen from a cluster string. Escapes and controls go;
bidi controls, zero-width and other invisible format characters go; line separators become
line breaks; lone surrogates become U+FFFD; printable text comes back unchanged."""

from __future__ import annotations

import pytest

from console.text import clean, clean_line

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


@pytest.mark.parametrize("char", list(BIDI + ZERO_WIDTH + "\u00ad\u180e\U000e0041\ufff9"))
def test_invisible_format_characters_are_removed(char: str) -> None:
    assert clean(f"ab{char}cd") == "abcd"
    assert clean_line(f"ab{char}cd") == "abcd"


def test_a_reordering_message_reads_in_its_stored_order() -> None:
    # "txt.exe" shown as "exe.txt" by a right-to-left override: the override goes
    assert clean("invoice-\u202etxt.exe") == "invoice-txt.exe"
    assert clean("\u2067admin\u2069 approved") == "admin approved"


def test_line_and_paragraph_separators() -> None:
    assert clean("one\u2028two\u2029three") == "one\ntwo\nthree"
    assert clean_line("one\u2028two\u2029three") == "one two three"


def test_escapes_and_controls_still_go() -> None:
    assert clean("a\x1b[2Jb\x1b]52;c;QUFB\x07c\x07d\x9be") == "abcde"
    assert clean_line("a\nb\tc") == "a b c"


def test_lone_surrogates_become_replacement_characters() -> None:
    text = clean("a\ud800b")
    assert text == "a\ufffdb"
    text.encode("utf-8")  # a terminal can write it


def test_printable_text_is_returned_as_is() -> None:
    for text in ("node-a100-0", "ünïcødé 名前 🙂", "a b\u00a0c"):
        assert clean(text) is text or clean(text) == text
    ascii_name = "gpu-pool-a100-0"
    assert clean(ascii_name) is ascii_name  # the fast path: no copy


def test_values_whose_str_raises() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert clean(Broken()) == "<Broken>"
    assert clean(10**5000) == "<int>"  # beyond int's digit limit for str()
    assert clean(42) == "42"
