"""What the http check reads in a response body: text, JSON values, the words of an error page.

``contains``, ``matches`` and ``json`` are checked here; nothing a secret header carried is
ever quoted (``redact``).
"""

from __future__ import annotations

import re

from mdd.checks._base import Deadline
from mdd.checks._http_exchange import Answer
from mdd.checks._result import CheckError
from mdd.checks._shared import excerpt

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from typing import Any, Protocol

    class BodyOpts(Protocol):  # what content_problems reads of the http check's options
        contains: str | None
        matches: str | None
        json: list[tuple[str, Any]] | None


def redacted(text: str, secrets: list[tuple[str, str]]) -> str:
    """``text`` without the secret values, whole or in part, as is or escaped (``redact``)."""
    if not secrets:
        return text
    from mdd.checks._secrets import redact

    return redact(text, [value for _, value in secrets])


def readable(text: str) -> str:
    """The words of an error page: HTML tags, scripts and styles taken out.

    One pass over at most the first 64 KiB (a page of unclosed tags costs no more).
    """
    text = text[:65536]
    if "<" in text[:512]:
        lower = text.lower()
        words: list[str] = []
        pos = 0
        while pos < len(text):
            start = text.find("<", pos)
            if start < 0:
                words.append(text[pos:])
                break
            words.append(text[pos:start])
            block = re.match(r"<(script|style|head)\b", lower[start : start + 8])
            if block:
                close = lower.find(f"</{block.group(1)}", start)
                end = lower.find(">", close) if close >= 0 else -1
            else:
                end = text.find(">", start)
            if end < 0:
                break
            words.append(" ")
            pos = end + 1
        text = re.sub(r"&(nbsp|amp|lt|gt|quot);", " ", "".join(words))
    return " ".join(text.split())


def _json_text(value: Any, secrets: list[tuple[str, str]], limit: int = 60) -> str:
    import json

    text = redacted(json.dumps(value, ensure_ascii=False, sort_keys=True)[: limit * 8], secrets)
    return text if len(text) <= limit else text[:limit] + "..."


def _same(found: Any, expected: Any) -> bool:
    """JSON equality that tells true from 1 and "1" from 1."""
    if isinstance(found, bool) or isinstance(expected, bool):
        return type(found) is type(expected) and found == expected
    if isinstance(found, int | float) and isinstance(expected, int | float):
        return found == expected
    if isinstance(found, dict) and isinstance(expected, dict):
        return found.keys() == expected.keys() and all(_same(found[k], expected[k]) for k in found)
    if isinstance(found, list) and isinstance(expected, list):
        return len(found) == len(expected) and all(map(_same, found, expected))
    return type(found) is type(expected) and found == expected


_MISSING = object()


def _lookup(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def text_of(response: Answer) -> str:
    try:
        return response.body.decode(response.charset, "replace")
    except LookupError:
        return response.body.decode("utf-8", "replace")


def content_problems(
    response: Answer, opts: BodyOpts, secrets: list[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """(problems, what was verified) for contains, matches and json; no secret is quoted."""
    problems: list[str] = []
    verified: list[str] = []
    if opts.contains is None and opts.matches is None and not opts.json:
        return problems, verified
    text = text_of(response)
    # Redacted before the excerpt is cut: a cut through a secret would show its first part.
    found = (
        f"got {excerpt(redacted(text[:4096], secrets))}" if text.strip() else "got an empty body"
    )
    scope = " in its first 1 MiB" if response.truncated else ""
    if opts.contains is not None:
        if opts.contains in text:
            verified.append(f"body contains {opts.contains!r}")
        else:
            problems.append(f"body does not contain {opts.contains!r}{scope} ({found})")
    if opts.matches is not None:
        if _search(opts.matches, text):
            verified.append(f"body matches /{opts.matches}/")
        else:
            problems.append(f"body does not match /{opts.matches}/{scope} ({found})")
    if opts.json:
        import json

        if response.truncated:
            problems.append("body is larger than 1 MiB, too large to check as JSON")
            return problems, verified
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(
                f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} ({found})"
            )
            return problems, verified
        except (RecursionError, ValueError) as exc:  # nested too deeply; a 5000-digit number
            why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long"
            problems.append(f"body is not JSON this check can read ({why})")
            return problems, verified
        for path, expected in opts.json:
            value = _lookup(document, path)
            if value is _MISSING:
                problems.append(f"json has no {path}")
            elif not _same(value, expected):
                problems.append(
                    f"json {path} is {_json_text(value, secrets)}, "
                    f"expected {_json_text(expected, secrets)}"
                )
            else:
                verified.append(f"json {path} is {_json_text(value, secrets)}")
    return problems, verified


def _search(pattern: str, text: str) -> bool:
    """``re.search``; a pattern that backtracks past the timeout is the check's problem."""
    try:
        return re.search(pattern, text) is not None
    except Deadline:  # the backstop alarm interrupts the regex engine
        raise CheckError(
            f"matching /{pattern}/ against the body took longer than the timeout: the regex "
            f"backtracks catastrophically on this body; simplify it (e.g. no nested repeats)"
        ) from None
