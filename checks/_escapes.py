"""Backslash escapes for bytes sent by a check (tcp ``send``; udp payloads).

A manifest keeps such a value as written, with its escapes (``send: 'PING\\r\\n'``, in
single quotes so YAML leaves the backslashes alone): the generated command stays on one line
and the check decodes the escapes just before sending. The escapes:

``\\r`` carriage return, ``\\n`` line feed, ``\\t`` tab, ``\\0`` NUL, ``\\\\`` a backslash,
``\\xHH`` the byte with hex value HH. Any other character stands for itself, in UTF-8.

Standard library only, and nothing imported: a check loads this on every run that sends.
"""

from __future__ import annotations

_SIMPLE = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}
_HEX = "0123456789abcdefABCDEF"

ESCAPES = "\\r \\n \\t \\0 \\\\ \\xHH"  # for messages and help texts


def decode_escapes(text: str) -> bytes:
    """The bytes that ``text`` stands for; ``ValueError`` on an unknown or cut escape."""
    if "\\" not in text:
        return text.encode("utf-8")
    out = bytearray()
    index = 0
    while index < len(text):
        slash = text.find("\\", index)
        if slash < 0:
            out += text[index:].encode("utf-8")
            break
        out += text[index:slash].encode("utf-8")
        code = text[slash + 1 : slash + 2]
        if code in _SIMPLE:
            out += _SIMPLE[code]
            index = slash + 2
        elif code == "x":
            digits = text[slash + 2 : slash + 4]
            if len(digits) != 2 or any(d not in _HEX for d in digits):
                raise ValueError(
                    f"\\x{digits} at character {slash + 1} needs two hex digits, such as \\x1b"
                )
            out.append(int(digits, 16))
            index = slash + 4
        elif code == "":
            raise ValueError(
                f"a lone backslash ends the text: write \\\\ for a backslash (escapes: {ESCAPES})"
            )
        else:
            raise ValueError(
                f"unknown escape \\{code} at character {slash + 1}: the escapes are {ESCAPES} "
                f"(write \\\\ for a backslash)"
            )
    return bytes(out)
