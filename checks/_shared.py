"""Small helpers the check modules share: threshold rules, quoting what a server sent.

Standard library only.
"""

from __future__ import annotations

from mdd.checks._options import Option, duration_text


def threshold_rules(
    values: dict[str, object], options: tuple[Option, ...], warn: str = "warn", crit: str = "crit"
) -> list[tuple[str, str]]:
    """``warn`` no longer than ``crit``, both shorter than the timeout: (option, message)s."""
    problems: list[tuple[str, str]] = []
    low, high = values.get(warn), values.get(crit)
    if isinstance(low, float) and isinstance(high, float) and low > high:
        problems.append((warn, f"{warn} must not be longer than {crit}"))
    default = {opt.name: opt.default for opt in options}
    timeout = values.get("timeout", default.get("timeout"))
    for name in (warn, crit):
        limit = values.get(name)
        if isinstance(limit, float) and isinstance(timeout, float) and limit >= timeout:
            problems.append(
                (name, f"'{name}' must be shorter than the timeout ({duration_text(timeout)})")
            )
    return problems


def excerpt(data: bytes | str, limit: int = 60) -> str:
    """A short, printable quotation of what a server sent."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")
