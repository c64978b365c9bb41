"""Output templates (installed as ``mdd.templates``); loaded with ``PackageLoader``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2


def environment() -> jinja2.Environment:
    """The one Jinja2 environment of mdd's HTML pages: these templates, autoescaped, and a
    name the template uses but is not given is an error, not an empty string."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("mdd.templates", "."),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
