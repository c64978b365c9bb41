"""Secret references: the kinds of value that say where the agent reads a secret
(``{file: /path}``, ``{env: NAME}``, ``{client: attribute.path}``), never the secret itself.

Their errors never quote what was written: in a secret's place it may be the secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mdd.checks._kinds import Kind, absolute_path_text, type_name, want_str
from mdd.checks._pair_kinds import header_name, pairs_loader, split_pair

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _secret_ref(value: Any) -> tuple[str, str]:
    """A secret header's value: a path (as before), ``{file: /abs/path}`` or ``{env: NAME}``."""
    if isinstance(value, str):
        if value.startswith("env:"):
            raise ValueError(
                "the value reads as a file path starting with 'env:' (not shown: it may be the "
                "secret): write {env: NAME} for an environment variable"
            )
        return ("file", _secret_path(value))
    return _secret(value)


def _secret_header_parse(text: str) -> tuple[str, tuple[str, str]]:
    name, where = split_pair(text, "=", "'Name=/path' or 'Name=env:VARIABLE'")
    if where.startswith("env:"):
        return (header_name(name), _secret({"env": where[4:]}))
    return (header_name(name), ("file", _secret_path(where)))


SECRET_FILES = Kind(
    "secret files",
    pairs_loader("header names to secret references", header_name, _secret_ref),
    _secret_header_parse,
    lambda pair: f"{pair[0]}={'env:' if pair[1][0] == 'env' else ''}{pair[1][1]}",
    doc="a mapping of header name to where the agent reads the value: {file: /path}, "
    "{env: VARIABLE}, or a file path",
    metavar="NAME=/PATH",
    flag_doc="A request header whose value is read on the agent at run time, never printed: "
    "NAME=/PATH reads header NAME's value from the file PATH, NAME=env:VARIABLE from the "
    "environment variable VARIABLE.",
)


_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CLIENT_PATH = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
# {file: PATH} on the agent, {env: NAME} in its environment, {client: dotted.path}: an
# attribute of the Sensu Classic client definition, which sensu-client writes to the check's
# stdin (never to argv).
SECRET_SOURCES = ("file", "env", "client")
_SECRET_FORMS = "{file: /path/on/agent}, {env: VARIABLE} or {client: attribute.path}"


def _secret(value: Any) -> tuple[str, str]:
    """A reference to a secret on the agent: ``("file", "/abs/path")``, ``("env", "NAME")``
    or ``("client", "dotted.path")``.

    Its errors never quote what was written: in a secret's place it may be the secret."""
    if isinstance(value, str):
        raise ValueError(
            "secrets never go into a manifest: refer to the secret instead, as "
            "{file: /etc/sensu/mdd/<name>.pw} (a file on the agent that the sensu user can "
            "read), {env: MDD_<NAME>} (a variable in the agent's environment) or, for Sensu "
            "Classic, {client: mdd.<name>} (an attribute of the agent's client definition)"
        )
    if not isinstance(value, Mapping) or len(value) != 1:
        raise ValueError(f"expected a secret reference, {_SECRET_FORMS}, got {type_name(value)}")
    ((source, where),) = value.items()
    if source not in SECRET_SOURCES:
        shown = (
            f"{{{source}: ...}}"  # a word such as vault: never a secret's shape
            if isinstance(source, str) and re.fullmatch(r"[a-z]{1,12}", source)
            else "a mapping with another key (not shown: it may be the secret)"
        )
        raise ValueError(f"a secret reference is {_SECRET_FORMS}, not {shown}")
    if source == "file":
        return ("file", _secret_path(where))
    name = want_str(where)
    if source == "client":
        if not re.fullmatch(_CLIENT_PATH, name):
            raise ValueError(
                "the client reference is not a client attribute path (not shown: it may be the "
                "secret): write names joined by dots, such as mdd.ldap_password"
            )
        return ("client", name)
    if not re.fullmatch(_ENV_NAME, name):
        raise ValueError(
            "the env reference is not an environment variable name (not shown: it may be the "
            "secret): write one such as MDD_LDAP_PASSWORD"
        )
    return ("env", name)


def _secret_path(value: Any) -> str:
    """The file of a secret reference: an absolute path, never quoted in an error."""
    try:
        return absolute_path_text(value)
    except ValueError:
        raise ValueError(
            "the secret's file is not an absolute path (not shown: it may be the secret): "
            "write one such as /etc/sensu/mdd/<name>.pw"
        ) from None


def parse_file_secret(text: str) -> tuple[str, str]:
    return ("file", _secret_path(text))


def parse_env_secret(text: str) -> tuple[str, str]:
    return _secret({"env": text})


def parse_client_secret(text: str) -> tuple[str, str]:
    return _secret({"client": text})


SECRET = Kind(
    "secret",
    _secret,
    parse_file_secret,
    lambda ref: ref[1],
    doc=_SECRET_FORMS + ": never the secret itself",
)
