"""The reader: a manifest's YAML, checked value by value, into a ``mdd.core.model.Manifest``.

Every problem is collected (not only the first), each with the line and column where it was
written. The stages: the file is read and parsed (``source``, ``yamlload``), its layers
merged (``layers``) and loops expanded (``loops``); then the top-level keys are read here,
each point by ``points`` (each value by ``values``), and last the rules that look across
points and at the datacenter's defaults: unique names, dependencies and their cycles, the
Sensu settings against each check's timeout.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NamedTuple

from mdd.checks.api import duration_text, type_name
from mdd.checks.registry import CHECK_TYPES
from mdd.core.model import IntegrationPoint, Manifest, SensuSettings
from mdd.manifest import layers, loops, source, yamlload
from mdd.manifest.graph import strongly_connected
from mdd.manifest.keys import CHECK_MARGIN, DEFAULT_SENSU, SENSU, TOP, TOP_LEVEL_KEYS
from mdd.manifest.points import Point, PointReader
from mdd.manifest.values import BAD
from mdd.manifest.yamlload import Span, YamlList, YamlMap


class Timing(NamedTuple):
    """What the rules across a point's Sensu settings (ttl, interval, timeouts) read."""

    point: Point
    settings: SensuSettings
    unread: set[str]  # the settings whose value could not be read: no rule judges them
    defaults: dict[str, tuple[Any, Span]]  # the top level's settings, and where written

    def beside_interval(self, key: str) -> int | None:
        """The setting ``key`` (ttl, timeout) to compare with the interval: None when it is
        not set, either could not be read, or a cron (read or not) schedules the check."""
        value: int | None = getattr(self.settings, key)
        if (
            value is None
            or self.settings.cron is not None
            or {key, "interval", "cron"} & self.unread
        ):
            return None
        return value


class Reader(PointReader):
    """The whole manifest: ``read()`` gives the ``Manifest``, or None with ``problems``."""

    def read(self) -> Manifest | None:
        try:
            text = source.read_text(self.path)
        except source.SourceError as exc:
            self.add((exc.line, exc.column), exc.message)
            return None
        try:
            root, root_span = yamlload.load(text, str(self.path))
        except yamlload.YamlSyntaxError as exc:
            self.add((exc.line, exc.column), exc.message)
            return None
        self.duplicates(root, set())
        if root is None:
            self.add(
                root_span,
                "the manifest is empty: write at least datacenter and integration_points",
            )
            return None
        if not isinstance(root, YamlMap):
            self.add(
                root_span,
                f"a manifest is a mapping with datacenter and integration_points, got "
                f"{type_name(root)}",
            )
            return None
        root = layers.resolve(root, self.path, self)  # extends, remove: mdd/manifest/layers.py
        root = loops.expand(root, self)  # for_each: mdd/manifest/loops.py
        return self.manifest(root)

    def manifest(self, root: YamlMap) -> Manifest | None:
        elsewhere = {name: "Sensu settings go under 'sensu:'" for name in SENSU}
        elsewhere.update(
            {
                name: "this belongs to an integration point, in the integration_points list"
                for name in ("name", "type", "check", "owner", "docs", "depends_on")
            }
        )
        _, suggested = self.unknown_keys(root, list(TOP), "key", elsewhere=elsewhere)
        for opt in TOP_LEVEL_KEYS:
            if opt.required and opt.name not in root and opt.name not in suggested:
                self.add(root.span, f"missing required key {opt.name!r}")

        datacenter = self.datacenter(root) if "datacenter" in root else None
        if "vars" in root:
            self.read_vars(root["vars"], root.value_spans["vars"])

        description: str | None = None
        if "description" in root:
            loaded = self.option(
                TOP["description"], root["description"], root.value_spans["description"]
            )
            description = None if loaded is BAD else loaded

        defaults: dict[str, tuple[Any, Span]] = {}
        if "sensu" in root:
            defaults = self.sensu_block(root["sensu"], root.value_spans["sensu"])

        points: list[Point] = []
        if "integration_points" in root:
            points = self.points(root["integration_points"], root.value_spans["integration_points"])

        self.names_and_dependencies(points)
        built = [self.build(point, defaults) for point in points]

        if self.problems or datacenter is None:
            return None
        return Manifest(
            path=self.path,
            datacenter=datacenter,
            description=description,
            points=tuple(p for p in built if p is not None),
        )

    def datacenter(self, root: YamlMap) -> str | None:
        """The manifest's datacenter, or None after reporting why not (or that it is not the
        one asked for)."""
        loaded = self.option(
            TOP["datacenter"],
            root["datacenter"],
            root.value_spans["datacenter"],
            substitute=False,
        )
        datacenter: str | None = None if loaded is BAD else loaded
        expected = self.expected_datacenter
        if datacenter is not None and expected is not None and datacenter != expected:
            self.add(
                root.value_spans["datacenter"],
                f"this manifest is for datacenter {datacenter!r}, but it was asked for as "
                f"{expected!r}: a copied manifest would give {expected} the Sensu names "
                f"of {datacenter} (mdd_{datacenter}_*); set datacenter: {expected}",
            )
        return datacenter

    def points(self, value: Any, span: Span) -> list[Point]:
        """The points of ``integration_points`` that could be read at all."""
        if not isinstance(value, YamlList):
            self.add(
                span,
                f"integration_points: expected a list of integration points, got "
                f"{type_name(value)}",
            )
            return []
        if not value:
            self.add(
                span,
                "integration_points is empty: there is nothing to check; list at least "
                "one integration point",
            )
            return []
        points: list[Point] = []
        for item, item_span in zip(value, value.item_spans, strict=True):
            point = self.point(item, item_span)
            if point is not None:
                points.append(point)
        return points

    def names_and_dependencies(self, points: list[Point]) -> None:
        first: dict[str, Span] = {}
        for point in points:
            if point.name is None or point.name_span is None:
                continue
            if point.name in first:
                where = first[point.name]
                self.add(
                    point.name_span,
                    f"duplicate integration point name {point.name!r}: the first is at line "
                    f"{where.line}, column {where.column} (Sensu would keep only one of the "
                    f"two checks)",
                )
                point.ok = False
            else:
                first[point.name] = point.name_span

        graph: dict[str, list[tuple[str, Span]]] = {}
        for point in points:
            if point.name is None:
                continue
            edges: list[tuple[str, Span]] = []
            for target, span in point.depends_on:
                if target == point.name:
                    self.add(span, f"depends_on: {point.name!r} depends on itself")
                    point.ok = False
                elif target not in first and target not in self.unread_names:
                    self.add(
                        span,
                        f"depends_on: no integration point is named {target!r}"
                        f"{self.did_you_mean(target, first)}",
                    )
                    point.ok = False
                elif target in first:
                    edges.append((target, span))
            graph.setdefault(point.name, edges)  # a duplicate name is reported above
        self.cycles(graph)

    def cycles(self, graph: dict[str, list[tuple[str, Span]]]) -> None:
        """Report each group of points that depend on each other in a circle, once."""
        groups = strongly_connected(graph)
        done: set[str] = set()
        for start in graph:  # file order: each cycle is reported at its first point
            group = groups[start]
            if start in done or len(group) < 2:  # a point naming itself is reported apart
                continue
            done |= group
            # The shortest way around, from start back to start, within the group.
            paths: dict[str, list[tuple[str, Span]]] = {start: []}
            queue = [start]
            cycle: list[tuple[str, Span]] = []
            while queue and not cycle:
                node = queue.pop(0)
                for target, span in graph[node]:
                    if target == start:
                        cycle = [*paths[node], (target, span)]
                        break
                    if target in group and target not in paths:
                        paths[target] = [*paths[node], (target, span)]
                        queue.append(target)
            names = " -> ".join([start, *(name for name, _ in cycle)])
            self.add(
                cycle[0][1],
                f"depends_on: dependency cycle {names}: no point in it could ever be "
                f"delivered first",
            )

    def build(self, point: Point, defaults: dict[str, tuple[Any, Span]]) -> IntegrationPoint | None:
        """The point with its Sensu settings, after the rules across settings and check."""
        effective = {**defaults, **point.sensu}
        # A point's own interval or cron overrides the other one given at the top level.
        if "interval" in point.sensu and "cron" not in point.sensu:
            effective.pop("cron", None)
        unread = {name for name, (value, _) in effective.items() if value is BAD}
        if unread:
            point.ok = False
        settings = replace(
            DEFAULT_SENSU, **{k: v for k, (v, _) in effective.items() if k not in unread}
        )
        if (
            "timeout" not in effective
            and settings.cron is None
            and settings.timeout is not None
            and "interval" not in unread
            and settings.timeout > settings.interval
        ):  # the default timeout never outlasts the interval the manifest chose
            settings = replace(settings, timeout=settings.interval)

        timing = Timing(point, settings, unread, defaults)
        self.ttl_rule(timing, "interval" in effective)
        self.interval_rule(timing)
        self.timeout_rule(timing)

        if not point.ok or point.name is None or point.type is None or point.options is None:
            return None
        return IntegrationPoint(
            name=point.name,
            type=point.type,
            options=point.options,
            owner=point.owner,
            description=point.description,
            docs=point.docs,
            depends_on=tuple(name for name, _ in point.depends_on),
            sensu=settings,
            line=point.span.line,
        )

    def ttl_rule(self, timing: Timing, interval_set: bool) -> None:
        """A ttl must be longer than the interval (``interval_set``: written, not default)."""
        point, settings, _, defaults = timing
        ttl = timing.beside_interval("ttl")
        if ttl is not None and ttl <= settings.interval:
            at = point.sensu.get("ttl", point.sensu.get("interval", defaults.get("ttl")))
            default = "" if interval_set else ", the default"
            if at is not None:
                self.add(
                    at[1],
                    f"ttl ({ttl}s) must be longer than the interval "
                    f"({settings.interval}s{default}): Sensu would call the check stale "
                    f"between two ordinary runs",
                )
            point.ok = False

    def interval_rule(self, timing: Timing) -> None:
        """Sensu's timeout must not be longer than the interval: runs would overlap."""
        point, settings, _, defaults = timing
        timeout = timing.beside_interval("timeout")
        if timeout is not None and timeout > settings.interval:
            timeout_at = point.sensu.get("timeout", defaults.get("timeout"))
            interval_at = point.sensu.get("interval", defaults.get("interval"))
            at = timeout_at or interval_at
            if at is not None:
                self.add(
                    at[1],
                    f"the Sensu timeout ({timeout}s) is longer than the interval "
                    f"({settings.interval}s"
                    f"{'' if interval_at else ', the default'}): a run could still be going "
                    f"when the next one starts; make the timeout at most the interval",
                )
                point.ok = False

    def timeout_rule(self, timing: Timing) -> None:
        """The check's own timeout must end before Sensu's, with a margin to report why."""
        point, settings, unread, defaults = timing
        if (
            point.check_values is not None
            and point.type is not None
            and settings.timeout is not None
            and "timeout" not in unread
        ):
            options = {opt.name: opt for opt in CHECK_TYPES[point.type].OPTIONS}
            check_timeout = (
                point.check_values.get("timeout", options["timeout"].default)
                if ("timeout" in options)
                else None
            )
            if (
                isinstance(check_timeout, int | float)
                and check_timeout + CHECK_MARGIN > settings.timeout
            ):
                sensu_at = point.sensu.get("timeout")
                if point.check_timeout_span is not None:
                    where = point.check_timeout_span
                    what = f"the check's timeout ({duration_text(check_timeout)})"
                else:
                    fallback = defaults.get("timeout")
                    where = (
                        sensu_at[1]
                        if sensu_at
                        else fallback[1]
                        if fallback
                        else point.check_span or point.span
                    )
                    what = (
                        f"check type {point.type!r} times out after "
                        f"{duration_text(check_timeout)} by default, which"
                    )
                self.add(
                    where,
                    f"{what} must be at least {CHECK_MARGIN:g}s shorter than the Sensu "
                    f"timeout ({settings.timeout}s): Sensu would kill the check before it can "
                    f"report why it failed",
                )
                point.ok = False
