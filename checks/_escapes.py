"""Bytes to send, written as text with escapes: ``PING\\r\\n`` is P I N G CR LF.

A manifest (and the generated command line) keeps the text as written, so the command stays
on one line; the check decodes it just before sending. The escapes are ``\\r`` ``\\n``
``\\t`` ``\\0`` ``\\\\`` and ``\\xHH`` (one byte, two hex digits); a backslash before anything
else is an error, so a typo never goes on the wire silently. Other characters are sent as
UTF-8. A control character that YAML already decoded (``"PING\\r\\n"`` in double quotes) is
written back as its escape, so both quotings mean the same bytes.

The option kind that holds such text is ``ESCAPED_TEXT`` in ``_options``. Standard library
only, and nothing imported: a check loads this on every run that sends.
"""

from __future__ import annotations

_SIMPLE = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}
_HEX = "0123456789abcdefABCDEF"
ESCAPES = "\\r \\n \\t \\0 \\\\ \\xHH"  # for messages and help texts
_CONTROL_NAMES = {"\r": "\\r", "\n": "\\n", "\t": "\\t", "\0": "\\0"}


def decode_escapes(text: str) -> bytes:
    """The bytes ``text`` stands for. Raises ``ValueError`` on an unknown escape."""
    out = bytearray()
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char != "\\":
            out += char.encode()
            pos += 1
            continue
        code = text[pos + 1 : pos + 2]
        if code in _SIMPLE:
            out += _SIMPLE[code]
            pos += 2
        elif code == "x":
            digits = text[pos + 2 : pos + 4]
            if len(digits) != 2 or any(d not in _HEX for d in digits):
                raise ValueError(
                    f"{text[pos : pos + 4]} at character {pos + 1} needs two hex digits, "
                    f"as in \\x00 or \\x1b"
                )
            out.append(int(digits, 16))
            pos += 4
        elif not code:
            raise ValueError("a lone backslash ends the text: write a backslash itself as \\\\")
        else:
            raise ValueError(
                f"unknown escape \\{code} at character {pos + 1}: the escapes are {ESCAPES} "
                f"(write a backslash itself as \\\\)"
            )
    return bytes(out)


def escape_controls(text: str) -> str:
    """``text`` with each control character written as its escape (CR as ``\\r``...)."""
    if text.isprintable():
        return text
    return "".join(
        _CONTROL_NAMES.get(c, f"\\x{ord(c):02x}") if ord(c) < 32 or ord(c) == 127 else c
        for c in text
    )
