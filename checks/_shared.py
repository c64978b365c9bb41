"""Small helpers the check modules share: threshold rules, quoting what a server sent.

Standard library only.
"""

from __future__ import annotations

from mdd.checks._options import Option, duration_text
from mdd.checks._result import CheckError, CheckFailed, Result

TYPE_CHECKING = False  # typing is needed by annotations only (see _options)
if TYPE_CHECKING:
    from collections.abc import Callable


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


def excerpt(value: object, limit: int = 60) -> str:
    """A short quotation of what a server sent, for a message: its white space folded, cut
    after ``limit`` characters; a value that is not text is quoted as its ``repr``."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def redacting(probe: Callable[[], Result], hide: Callable[[str], str]) -> Result:
    """``probe()``, with ``hide`` applied to every text it returns or raises: a check with
    secrets never lets one out, also through an unexpected error (then UNKNOWN)."""
    try:
        result = probe()
    except CheckFailed as exc:
        raise CheckFailed(hide(str(exc)), exc.perfdata) from None
    except CheckError as exc:
        raise CheckError(hide(str(exc))) from None
    except Exception as exc:
        raise CheckError(hide(f"check failed to run: {type(exc).__name__}: {exc}")) from None
    return Result(result.state, hide(result.message), result.perfdata)
