"""Property: whatever the manifest, ``validate`` and ``generate`` agree, and neither crashes.

Hypothesis starts from the good fixtures and the bundled example, and mutates them: keys
renamed, dropped or added, values replaced by other types (numbers, booleans, null, lists,
mappings, hostile strings), nesting changed, values copied between keys. Each manifest is
fed to ``mdd.manifest.load`` (what ``mdd validate`` runs) and, when that succeeds, to
``mdd.sensu.classic.render`` (what ``mdd generate`` adds). The only outcomes allowed:

* ``load`` raises ``ManifestError`` with at least one located problem, or
* ``load`` succeeds and ``render`` succeeds (a ``GenerateError`` after a clean validation is
  a disagreement, and any other exception is a crash).

Half the manifests also get a new point of a random check type, whose check block uses that
type's option names with random and hostile values (keys too, for options of pairs).

The run is derandomized (the same examples on every run) and bounded: 1,500 examples by
default, ``MDD_FUZZ_EXAMPLES=20000`` for a deeper run (docs/reliability.md).

The second half of the file sends mutated manifests through ``mdd diff``, ``mdd init`` and
``mdd docs`` (a fifth of the examples each); its properties are listed there.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdd.core.problems import ManifestError
from mdd.manifest import load
from mdd.sensu.classic import render
from tests.test_contract import sample

pytestmark = pytest.mark.slow  # see CONTRIBUTING.md: run in CI, skipped while iterating

HERE = Path(__file__).parent
SEEDS = [
    *sorted((HERE / "manifests" / "good").glob("*.yaml")),
    HERE.parent / "mdd" / "examples" / "ams1.yaml",
]
SEED_DOCS = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in SEEDS]
EXAMPLES = int(os.environ.get("MDD_FUZZ_EXAMPLES", "1500"))

KEYS = [
    "datacenter", "description", "vars", "sensu", "integration_points", "name", "type",
    "check", "owner", "docs", "depends_on", "host", "port", "url", "send", "expect",
    "timeout", "warn", "crit", "state", "status", "headers", "secret_headers", "json",
    "contains", "matches", "method", "body", "warn_days", "crit_days", "servername",
    "starttls", "min_version", "verify", "ca_file", "interval", "ttl", "handlers",
    "subscribers", "occurrences", "refresh", "connect_to", "proxy", "follow_redirects",
    "insecure", "client_cert", "client_key", "file", "env", "Authorization", "a=b",
    ":::name:::", "{{ domain }}", "", "x" * 300,
]  # fmt: skip

HOSTILE = [
    "", " ", "-", "--help", "-x", "$(touch PWNED)", "`id`", "; rm -rf /", "a\nb", "a\rb",
    "a\0b", "x\ud800", "\ud83d\ude00", "\U0001f600", "é", "€", "\x1b[31m", "\u202e",
    ":::name:::", ":::a|b:::", "{{ domain }}", "{{ nope }}", "{{", "}}", "{{ x.__class__ }}",
    "http://127.0.0.1:0/", "http://127.0.0.1:8080/x", "https://[::1]:443/", "http://a b/",
    "http://user:pw@h/", "127.0.0.1", "::1", "[::1]", "localhost", "xn--a.\u00e9\u0301..com",
    "1" + "0" * 400, "1e999", "10s", "500ms", "1m30s", "0", "-1", "65536", "200-299",
    "299-200", "(a+)+$", "[", "GET", "HEAD", "smtp", "1.2", "closed", "open", "/etc/x",
    "relative/path", "env:X", "a=b", "x" * 5000,
]  # fmt: skip

# Keys of options of pairs (headers, json, secret_headers) that once broke a check or Sensu.
PAIR_KEYS = st.sampled_from(
    [":::name:::", ":::a|b:::", "a=b", "a\0b", "x\ud800", "{{ d }}", "-x", "é", "a.", "X-A"]
)
KEY_NAMES = st.one_of(st.sampled_from(KEYS), st.sampled_from(HOSTILE))

SCALARS = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 1, 22, 443, 65535, 65536, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=30),
)


def values(depth: int = 2) -> st.SearchStrategy[Any]:
    if depth <= 0:
        return SCALARS
    return st.one_of(
        SCALARS,
        st.lists(values(depth - 1), max_size=4),
        st.dictionaries(KEY_NAMES, values(depth - 1), max_size=4),
    )


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document: keys of mappings and indexes of lists."""
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


def get(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def point(draw: st.DrawFn) -> dict[str, Any]:
    """An integration point of a random type whose check block uses that type's own option
    names, with random and hostile values (mappings where the option takes pairs)."""
    from mdd.checks.registry import CHECK_TYPES

    check_type = draw(st.sampled_from(sorted(CHECK_TYPES)))
    options = CHECK_TYPES[check_type].OPTIONS
    check: dict[str, Any] = {}
    chosen = draw(st.lists(st.sampled_from(options), max_size=6, unique_by=lambda o: o.name))
    chosen += [o for o in options if o.pairs and o not in chosen and draw(st.booleans())]
    for opt in chosen:
        # Mostly a valid value (so that one bad value decides the outcome), else anything.
        if draw(st.integers(0, 3)):
            value = copy.deepcopy(sample(opt, draw(st.integers(0, 1))))
            if opt.pairs and isinstance(value, dict) and draw(st.booleans()):
                value = {**value, draw(PAIR_KEYS): draw(st.sampled_from([*HOSTILE, 1, True]))}
            elif isinstance(value, str) and draw(st.booleans()):
                value += draw(st.sampled_from(HOSTILE))
        elif opt.pairs:
            value = draw(st.dictionaries(KEY_NAMES, values(1), min_size=1, max_size=3))
        else:
            value = draw(values(1))
        check[opt.name] = value
    for opt in options:  # required options mostly present and valid
        if opt.required and opt.name not in check and draw(st.integers(0, 5)):
            check[opt.name] = copy.deepcopy(sample(opt, 0))
    return {"name": "fuzz-point", "type": check_type, "check": check}


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any] = SEED_DOCS, least: int = 1, most: int = 4) -> Any:
    document = yaml.safe_load(yaml.safe_dump(draw(st.sampled_from(seeds))))  # a copy
    if draw(st.booleans()) and isinstance(document.get("integration_points"), list):
        document["integration_points"].append(draw(point()))
    for _ in range(draw(st.integers(min_value=least, max_value=most))):
        places = paths(document)
        path = draw(st.sampled_from(places))
        action = draw(
            st.sampled_from(["replace", "drop", "add", "rename", "wrap", "copy", "unwrap"])
        )
        here = get(document, path)
        if action == "add" and isinstance(here, dict):  # a new key in this mapping
            here[draw(KEY_NAMES)] = draw(values())
            continue
        if not path:
            if action == "replace":
                document = draw(values())
            continue
        parent, last = get(document, path[:-1]), path[-1]
        if action == "replace":
            parent[last] = draw(values())
        elif action == "drop":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(KEY_NAMES)] = draw(values())
        elif action == "add" and isinstance(parent, list):
            parent.insert(last, draw(values()))
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(KEY_NAMES)] = parent.pop(last)
        elif action == "wrap":
            parent[last] = draw(st.sampled_from([[parent[last]], {"x": parent[last]}]))
        elif action == "copy":
            other = get(document, draw(st.sampled_from(places)))
            parent[last] = yaml.safe_load(yaml.safe_dump(other))
        elif action == "unwrap" and isinstance(parent[last], list | dict) and parent[last]:
            inner = parent[last]
            parent[last] = inner[0] if isinstance(inner, list) else next(iter(inner.values()))
    return document


def as_yaml(document: Any) -> str:
    # Values as Python holds them; allow_unicode keeps non-ASCII text as written.
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10**6)


def check_agreement(text: str, path: Path) -> str:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        manifest = load(path)
    except ManifestError as exc:
        assert exc.problems, "a ManifestError must carry problems"
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1, problem
            assert problem.message and "\n" not in problem.message, problem
        return "refused"
    render(manifest)  # validate said 0 problems: generate must succeed (no GenerateError)
    return "generated"


OUTCOMES: dict[str, int] = {}


@pytest.mark.timeout(max(120, EXAMPLES // 5))  # a hang guard that grows with the depth
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=mutated())
def test_validate_and_generate_agree_on_mutated_manifests(
    document: Any, tmp_path_factory: Any
) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    try:
        text = as_yaml(document)
    except (yaml.YAMLError, UnicodeEncodeError):
        return
    outcome = check_agreement(text, path)
    OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1


def test_the_fuzzing_reaches_both_outcomes() -> None:
    """The mutations are neither all fatal nor all harmless (run after the fuzz test)."""
    print("fuzz outcomes:", OUTCOMES)
    if not OUTCOMES:  # run alone: fuzz a little here
        for document in SEED_DOCS:
            assert check_agreement(as_yaml(document), Path("/tmp/mdd-fuzz-seed.yaml"))
        return
    assert OUTCOMES.get("generated", 0) > 0.02 * sum(OUTCOMES.values()), OUTCOMES
    assert OUTCOMES.get("refused", 0) > 0.3 * sum(OUTCOMES.values()), OUTCOMES


@pytest.mark.timeout(max(120, EXAMPLES // 10))
@settings(max_examples=max(EXAMPLES // 3, 100), derandomize=True, deadline=None, database=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n\t %@`,?{}")), max_size=200))
def test_random_yaml_text_is_refused_or_loaded(text: str, tmp_path_factory: Any) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz-text.yaml"
    check_agreement("datacenter: x\n" + text, path)


# --- The living-document commands: diff, init and docs, in-process through click. -------
#
# Mutated manifests go through ``mdd diff A B``, ``mdd init NEW --from A --set k=v -o OUT``
# and ``mdd docs A --format md|html [-o OUT]``. Properties: no traceback; the exit status is
# a documented one (diff 0 same / 1 different / 2 problem; init and docs 0 / 1); every line
# on standard error is ``file:line:col: message`` or one ``mdd: ...`` line; an output file
# is whole or absent (or, with -o over a previous file, that file byte for byte), with no
# temporary file left beside it; and a planted secret appears in no output and no file.

COMMAND_EXAMPLES = max(EXAMPLES // 5, 60)  # per command: 300 by default
SECRET = "gHkMnPqRsTvWxYzGhKmNpQrS"  # alternating case: no run of it occurs by chance
SECRET_ENV = "MDD_FUZZ_SECRET"
RUN = 6  # a run of this many characters of the secret counts as a leak (redact()'s unit)
SECRET_RUNS = {SECRET[i : i + RUN] for i in range(len(SECRET) - RUN + 1)}
PROBLEM_LINE = re.compile(r"\S.*:[1-9][0-9]*:[1-9][0-9]*: \S.*")

# Where the secret goes: proper references, and the mistakes that once quoted it back.
# (Not ``{env: SECRET}`` itself: it is a valid variable name, so that is a reference.)
SECRET_VALUES = [
    {"env": SECRET_ENV}, {"file": "SECRET_FILE"}, {"env": SECRET + "-x"},
    {"file": SECRET}, {SECRET: "x"}, [SECRET], {"file": "/x", "env": SECRET},
]  # fmt: skip


COMMAND_OUTCOMES: dict[str, int] = {}
EXAMPLES_DIR = HERE.parent / "mdd" / "examples"
COMMAND_SEEDS = SEED_DOCS + [
    yaml.safe_load((EXAMPLES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    for name in ("fra1", "nyc1")
]


def leaks(text: str) -> list[str]:
    return sorted(piece for piece in SECRET_RUNS if piece in text)


@st.composite
def secret_point(draw: st.DrawFn) -> dict[str, Any]:
    """A point whose secret option holds a reference to the planted secret, or the secret
    itself written by mistake where a reference belongs."""
    if draw(st.booleans()):
        value = draw(st.sampled_from(SECRET_VALUES[:2] * 3 + SECRET_VALUES))
        check: dict[str, Any] = {"host": "127.0.0.1", "password": value}
        return {"name": "fuzz-secret", "type": "redis", "check": check}
    header = draw(st.sampled_from([SECRET, f"Bearer {SECRET}", f"env:{SECRET}"]))
    check = {"url": "http://127.0.0.1/", "secret_headers": {"Authorization": header}}
    return {"name": "fuzz-secret", "type": "http", "check": check}


@st.composite
def with_secret(draw: st.DrawFn) -> Any:
    """A mutated manifest, half the time with a secret point added after the mutations
    (so the secret is only where a secret belongs). Fewer mutations than above, and the
    three bundled datacenters as seeds too (their bases are copied beside them), so that
    diff, init and docs get to work on valid manifests as well."""
    document = draw(mutated(COMMAND_SEEDS, 0, 2))
    if (
        draw(st.booleans())
        and isinstance(document, dict)
        and isinstance(document.get("integration_points"), list)
    ):
        document["integration_points"].append(draw(secret_point()))
    return document


def write_manifest(document: Any, path: Path, secret_file: Path) -> bool:
    try:
        text = as_yaml(document).replace("SECRET_FILE", str(secret_file))
    except (yaml.YAMLError, UnicodeEncodeError):
        return False
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return True


def workspace(tmp_path_factory: Any, name: str) -> tuple[Path, Path]:
    """An empty folder for one example, and the secret file the manifests may refer to."""
    import shutil

    base = tmp_path_factory.getbasetemp()
    secret_file = base / "fuzz-secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    folder = base / f"fuzz-{name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    shutil.copytree(EXAMPLES_DIR / "base", folder / "base")  # what the examples extend
    return folder, secret_file


def invoke(args: list[str], codes: tuple[int, ...]) -> Any:
    """Run ``mdd ARGS`` in-process and check what every run must hold."""
    from click.testing import CliRunner

    from mdd.cli import main

    result = CliRunner().invoke(main, args, env={SECRET_ENV: SECRET})
    what = f"mdd {' '.join(args)}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"{what} crashed:\n{trace}")
    assert result.exit_code in codes, (what, result.exit_code, result.stderr)
    key = f"{args[0]} {result.exit_code}"
    COMMAND_OUTCOMES[key] = COMMAND_OUTCOMES.get(key, 0) + 1
    assert "Traceback" not in result.output, (what, result.output)
    for line in result.stderr.splitlines():
        assert line.startswith("mdd: ") or PROBLEM_LINE.fullmatch(line), (what, line)
    assert not leaks(result.stdout + result.stderr), (what, result.stdout, result.stderr)
    return result


def assert_no_temporary(folder: Path) -> None:
    left = sorted(p.name for p in folder.rglob(".*"))
    assert not left, f"temporary files left in {folder}: {left}"


def fuzz_settings(test: Any) -> Any:
    return pytest.mark.timeout(max(120, COMMAND_EXAMPLES // 2))(
        settings(
            max_examples=COMMAND_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )(test)
    )


@fuzz_settings
@given(left=with_secret(), right=st.one_of(st.sampled_from(COMMAND_SEEDS), with_secret()),
       fmt=st.sampled_from(["text", "json"]), ignore_vars=st.booleans())  # fmt: skip
def test_diff_of_mutated_manifests(
    left: Any, right: Any, fmt: str, ignore_vars: bool, tmp_path_factory: Any
) -> None:
    folder, secret_file = workspace(tmp_path_factory, "diff")
    one, other = folder / "one.yaml", folder / "other.yaml"
    if not (write_manifest(left, one, secret_file) and write_manifest(right, other, secret_file)):
        return
    args = ["diff", str(one), str(other), "--format", fmt] + ["--ignore-vars"] * ignore_vars
    result = invoke(args, (0, 1, 2))
    if result.exit_code == 2:
        assert result.stdout == "", result.stdout
    elif fmt == "json":
        json.loads(result.stdout)


# --set values as a shell hands them over: a byte that is not UTF-8 arrives as a lone
# surrogate (Python's surrogateescape), a NUL cannot arrive at all.
SET_VALUES = st.one_of(
    st.sampled_from([h for h in HOSTILE if "\0" not in h] + ["\udcff", "a\udce9b", SECRET_ENV]),
    st.text(max_size=20).filter(lambda s: "\0" not in s),
)
SET_NAMES = st.sampled_from(["domain", "region", "site", "x", "_", "a-b", "", "a b", "é", "1"])
NAMES = st.sampled_from(["fra9", "fra9", "fra9", "lab2", "Fra9", "a/b", "-x", "", "é"])


@fuzz_settings
@given(document=with_secret(), name=NAMES, sets=st.lists(st.tuples(SET_NAMES, SET_VALUES),
       max_size=3), description=st.one_of(st.none(), SET_VALUES))  # fmt: skip
def test_init_from_mutated_manifests(
    document: Any,
    name: str,
    sets: list[tuple[str, str]],
    description: str | None,
    tmp_path_factory: Any,
) -> None:
    from mdd.manifest import load as load_manifest

    folder, secret_file = workspace(tmp_path_factory, "init")
    # the new manifest beside its source: init derives a manifest only from its own folder
    source, target = folder / "old.yaml", folder / "fra9.yaml"
    if not write_manifest(document, source, secret_file):
        return
    args = ["init", "--from", str(source), "-o", str(target)]
    for key, value in sets:
        args += ["--set", f"{key}={value}"]
    if description is not None:
        args += ["--description", description]
    args += ["--", name]  # a name starting with "-" is then a name, as in `mdd init -- -x`
    result = invoke(args, (0, 2))
    assert_no_temporary(folder)
    assert_no_temporary(target.parent)
    if result.exit_code:
        assert not target.exists(), "init failed and yet wrote the file"
        assert result.stderr.splitlines()[-1].endswith("nothing written"), result.stderr
        return
    text = target.read_text(encoding="utf-8")
    assert not leaks(text), text
    load_manifest(target, name)  # whole and valid, as init validated it


@fuzz_settings
@given(document=with_secret(), fmt=st.sampled_from(["md", "html"]),
       previous=st.sampled_from([None, "the previous document\n"]))  # fmt: skip
def test_docs_of_mutated_manifests(
    document: Any, fmt: str, previous: str | None, tmp_path_factory: Any
) -> None:
    from mdd.living import document as living_document
    from mdd.manifest import load as load_manifest

    folder, secret_file = workspace(tmp_path_factory, "docs")
    source, output = folder / "dc.yaml", folder / "out" / f"dc.{fmt}"
    output.parent.mkdir()
    if not write_manifest(document, source, secret_file):
        return
    if previous is not None:
        output.write_text(previous, encoding="utf-8")
    result = invoke(["docs", str(source), "--format", fmt, "-o", str(output)], (0, 2))
    assert_no_temporary(output.parent)
    assert result.stdout == "", result.stdout
    if result.exit_code:
        if previous is None:
            assert not output.exists(), "docs failed and yet wrote the file"
        else:
            assert output.read_text(encoding="utf-8") == previous
        return
    written = output.read_text(encoding="utf-8")
    assert written == living_document(load_manifest(source), fmt, None)  # the whole document
    assert not leaks(written), written


def test_the_command_fuzzing_reaches_every_outcome() -> None:
    """Each command both refuses and succeeds on some examples (run after the fuzz tests)."""
    print("command fuzz outcomes:", dict(sorted(COMMAND_OUTCOMES.items())))
    if not COMMAND_OUTCOMES:  # run alone (or in another worker than the fuzz tests)
        return
    for command, ok in (("diff", (0, 1)), ("init", (0,)), ("docs", (0,))):
        if any(key.startswith(command) for key in COMMAND_OUTCOMES):
            assert sum(COMMAND_OUTCOMES.get(f"{command} {c}", 0) for c in ok), COMMAND_OUTCOMES
