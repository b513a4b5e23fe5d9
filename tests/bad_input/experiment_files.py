"""Bad experiment files, each given to ``chaos validate`` and to ``chaos run``.

Most are one change to a small valid experiment (:data:`BASE`): a field of the wrong type,
out of range, not one of its names, an unknown key, a reference to nothing. The rest are
written out: YAML that does not parse, YAML built to exhaust the reader (alias bombs, deep
nesting, duplicate keys), ``${ENV}`` problems, and system modules that fail on import.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .corpus import RUN_ARTIFACTS_ON_ERROR, Case, Content, Form

BASE: dict[str, Any] = {
    "name": "corpus",
    "seed": 1,
    "operations": 20,
    "concurrency": 2,
    "stores": {"db": {"adapter": "memory"}},
    "system": "register",
    "workload": {"keys": 1, "mix": {"read": 1, "write": 1}},
    "checks": [{"model": "register"}],
}

BASE_TEXT = """\
name: corpus
seed: 1
operations: 20
concurrency: 2
stores:
  db:
    adapter: memory
system: register
workload:
  keys: 1
  mix: {read: 1, write: 1}
checks:
  - model: register
"""
""":data:`BASE` as a person writes it, for cases that edit text and name lines."""

DROP = object()
"""A change that removes the key."""

HOSTILE_SECONDS = 10.0
"""Hostile YAML is refused within this (the reader's own work is well under a second; the
margin is for a loaded machine)."""


def variant(changes: Mapping[str, Any], base: Mapping[str, Any] = BASE) -> str:
    """:data:`BASE` with each dotted path set (or dropped), as YAML."""
    data = copy.deepcopy(dict(base))
    for path, value in changes.items():
        parts: list[Any] = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = data
        for part in parts[:-1]:
            if isinstance(node, dict) and part not in node:
                node[part] = {}
            node = node[part]
        if value is DROP:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@dataclass(frozen=True)
class BadFile:
    """One bad experiment file and the fragments its error must name."""

    id: str
    text: str | bytes
    named: tuple[str, ...]
    form: Form = "problems"
    within: float | None = None
    process: bool = False
    modules: Mapping[str, Content] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()
    path: str = "e.yaml"
    """Where the experiment is written (a case may make it something else)."""
    commands: tuple[str, ...] = ("validate", "run")
    """``run`` only for what only a run can find (a system's ``setup()`` that raises)."""
    leaves: frozenset[str] = frozenset()
    """What ``chaos run`` may leave (a run that started keeps its history and says why it stopped)."""


def bad(id: str, changes: Mapping[str, Any], *named: str, **extra: Any) -> BadFile:
    return BadFile(id, variant(changes), named, **extra)


def hostile(id: str, text: str, *named: str, **extra: Any) -> BadFile:
    return BadFile(id, text, named, within=HOSTILE_SECONDS, **extra)


def cases(files: list[BadFile]) -> list[Case]:
    """Each file given to ``chaos validate`` and to ``chaos run`` (with ``--out run``: bad input
    is found before the run directory is made, so nothing at all may be left)."""
    out: list[Case] = []
    for f in files:
        files_map: dict[str, Content] = {**f.modules}
        if f.path == "e.yaml":
            files_map["e.yaml"] = f.text
        common: dict[str, Any] = {
            "files": files_map,
            "named": f.named,
            "form": f.form,
            "within": f.within,
            "process": f.process,
            "env": f.env,
            "hidden": f.hidden,
            "leaves": f.leaves,
        }
        # a module's import side effects are the same in either command: run's in a process
        # of its own (the real entry point, sys.exit and all), validate's in this one
        if "validate" in f.commands:
            out.append(Case(f"validate-{f.id}", "validate", ("validate", f.path), **{**common, "process": False}))
        if "run" in f.commands:
            out.append(Case(f"run-{f.id}", "run", ("run", f.path, "--out", "run", "--no-progress"), **common))
    return out


# --------------------------------------------------------------------------------------------
# YAML that does not parse, or is not an experiment at all

SYNTAX = [
    BadFile(
        "unclosed-flow-mapping",
        BASE_TEXT.replace("mix: {read: 1, write: 1}", "mix: {read: 1, write: 1"),
        ("line 12", "not valid YAML"),
    ),
    BadFile("unclosed-flow-sequence", BASE_TEXT + "faults: [\n", ("not valid YAML",)),
    BadFile(
        "bad-indentation",
        BASE_TEXT.replace("    adapter: memory", "   adapter: memory\n  x: 1\n    y: 2"),
        ("not valid YAML",),
    ),
    BadFile(
        "tab-indentation", BASE_TEXT.replace("    adapter: memory", "\tadapter: memory"), ("line 7", "not valid YAML")
    ),
    BadFile("unclosed-quote", BASE_TEXT.replace("name: corpus", 'name: "corpus'), ("not valid YAML",)),
    BadFile("empty-file", "", ("an experiment is a YAML mapping",)),
    BadFile("only-a-comment", "# nothing here\n", ("an experiment is a YAML mapping",)),
    BadFile("a-scalar", "just some words\n", ("line 1", "an experiment is a YAML mapping")),
    BadFile("a-list", "- name: corpus\n- seed: 1\n", ("line 1", "an experiment is a YAML mapping")),
    BadFile("two-documents", BASE_TEXT + "---\nname: other\n", ("line 14", "not valid YAML")),
    BadFile(
        "invalid-utf8",
        BASE_TEXT.encode() + b"description: \xff\xfe\xfa\n",
        ("e.yaml: not a UTF-8 text file",),
        form="line",
    ),
    BadFile("nul-byte", BASE_TEXT + "description: a\x00b\n", ("line 14", "not valid YAML", "#x0000")),
    BadFile(
        "python-tag",
        BASE_TEXT + "description: !!python/object/apply:os.system [echo hi]\n",
        ("line 14", "not valid YAML"),
    ),
    BadFile("unknown-tag", BASE_TEXT + "description: !secret x\n", ("line 14", "not valid YAML")),
    BadFile("unhashable-key", BASE_TEXT + "? [a, b]\n: c\n", ("line 14", "not valid YAML")),
    BadFile("undefined-alias", BASE_TEXT + "description: *nowhere\n", ("line 14", "not valid YAML")),
    BadFile("missing-file", "", ("nowhere.yaml: cannot read file: No such file",), path="nowhere.yaml", form="line"),
    BadFile(
        "a-directory",
        "",
        ("'somewhere.yaml' is a directory",),
        path="somewhere.yaml",
        form="usage",
        modules={"somewhere.yaml/x": ""},
    ),
    BadFile(
        "too-large", BASE_TEXT + "description: " + "x" * (1 << 20) + "\n", ("e.yaml: larger than 256 KiB",), form="line"
    ),
    BadFile(
        "integer-of-5000-digits",
        BASE_TEXT.replace("seed: 1", "seed: " + "7" * 5000),
        ("line 2", "cannot read this value (an integer written with 5,000 characters)"),
    ),
    BadFile(
        "impossible-date",
        BASE_TEXT + "description: 2024-13-45\n",
        ("line 14", "cannot read this value (month must be in 1..12)"),
    ),
    BadFile("non-string-top-level-key", BASE_TEXT + "1: one\n", ("1: Keys should be strings",)),
]

# --------------------------------------------------------------------------------------------
# YAML built to exhaust the reader: refused with its line, within seconds


def laughs(levels: int = 9) -> str:
    """The billion laughs: each level a list of nine aliases of the level before (9**9 values)."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"{n}: &{n} [" + ", ".join([f"*{prev}"] * 9) + "]" for prev, n in itertools.pairwise(names)]
    return "laughs:\n" + "".join(f"  {line}\n" for line in lines)


HOSTILE = [
    hostile("billion-laughs", laughs() + BASE_TEXT, "expands to more than 100,000 values"),
    hostile(
        "many-aliases",
        "x: &x 1\nys: [" + ", ".join(["*x"] * 2000) + "]\n" + BASE_TEXT,
        "line 2",
        "more than 1000 aliases",
    ),
    hostile(
        "aliases-in-mappings",
        "base: &b {k: v}\n" + "".join(f"m{i}: {{<<: *b, i: {i}}}\n" for i in range(1200)) + BASE_TEXT,
        "more than 1000 aliases",
    ),
    hostile("nested-flow-sequences", "deep: " + "[" * 20_000 + "]" * 20_000 + "\n" + BASE_TEXT, "line 1", "nest"),
    hostile(
        "nested-flow-mappings",
        "deep: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n" + BASE_TEXT,
        "line 1",
        "nested deeper than 64 levels",
    ),
    hostile(
        "nested-block-mappings",
        BASE_TEXT + "".join(" " * i + "a:\n" for i in range(300)) + " " * 300 + "b: 1\n",
        "nested deeper than 64 levels",
    ),
    hostile(
        "nested-block-sequences",
        BASE_TEXT + "faults:\n" + "".join(" " * i + "-\n" for i in range(200)),
        "nested deeper than 64 levels",
    ),
    hostile("unclosed-deep-nesting", "deep: " + "[" * 50_000 + "\n", "line 1", "nest"),
    hostile(
        "duplicate-operations",
        BASE_TEXT + "operations: 1000000000\n",
        "line 14",
        "key 'operations' appears twice in one mapping (first on line 3)",
    ),
    hostile(
        "duplicate-nested-key",
        BASE_TEXT.replace("    adapter: memory", "    adapter: memory\n    adapter: postgres"),
        "line 8",
        "key 'adapter' appears twice",
    ),
    hostile(
        "duplicate-key-in-flow",
        BASE_TEXT.replace("{read: 1, write: 1}", "{read: 1, write: 1, read: 1000}"),
        "line 11",
        "key 'read' appears twice",
    ),
    hostile("duplicate-quoted-key", BASE_TEXT + '"seed": 2\n', "line 14", "key 'seed' appears twice"),
    hostile(
        "self-referencing-alias",
        BASE_TEXT + "description: &loop [1, *loop]\n",
        "line 14",
        "an alias refers to a node that contains it",
    ),
    hostile(
        "self-referencing-mapping",
        BASE_TEXT + "explore: &e {operations: *e}\n",
        "line 14",
        "an alias refers to a node that contains it",
    ),
    hostile(
        "alias-cycle-through-two",
        BASE_TEXT + "explore: &e {operations: [&f {x: *e}]}\n",
        "line 14",
        "an alias refers to a node that contains it",
    ),
    hostile(
        "wide-flow-sequence",
        BASE_TEXT + "description: [" + "1," * 110_000 + "1]\n",
        "line 14",
        "expands to more than 100,000 values",
    ),
    hostile(
        "wide-mapping",
        BASE_TEXT + "description:\n" + "".join(f"  k{i}: {i}\n" for i in range(60_000)),
        "e.yaml: larger than 256 KiB",
        form="line",
    ),
    hostile(
        "long-key-list",
        variant({"workload.keys": [f"k{i}" for i in range(150_000)]}),
        "e.yaml: larger than 256 KiB",
        form="line",
    ),
]

# --------------------------------------------------------------------------------------------
# The top level: every field wrong in type, range or name

TOP = [
    bad("name-missing", {"name": DROP}, "name: required field is missing"),
    bad("name-with-spaces", {"name": "my experiment"}, "name: String should match pattern"),
    bad("name-empty", {"name": ""}, "name: String should match pattern"),
    bad("name-path", {"name": "../../etc"}, "name: String should match pattern"),
    bad("name-too-long", {"name": "a" * 300}, "name: String should have at most 100 characters"),
    bad("name-a-list", {"name": ["a", "b"]}, "name: Input should be a valid string"),
    bad("description-a-mapping", {"description": {"a": 1}}, "description: Input should be a valid string"),
    bad("seed-a-word", {"seed": "lucky"}, "seed: Input should be a valid integer"),
    bad("seed-a-fraction", {"seed": 1.5}, "seed: Input should be a valid integer"),
    bad("seed-nan", {"seed": float("nan")}, "seed:"),
    bad("duration-a-word", {"duration": "forever"}, "duration: expected a duration"),
    bad("duration-negative", {"duration": -5}, "duration: a duration cannot be negative"),
    bad("duration-zero", {"duration": 0}, "duration: Input should be greater than 0"),
    bad("duration-infinite", {"duration": float("inf")}, "duration: a duration must be a finite number"),
    bad("duration-unit-unknown", {"duration": "10 weeks"}, "duration: expected a duration"),
    bad("operations-zero", {"operations": 0}, "operations: Input should be greater than or equal to 1"),
    bad("operations-negative", {"operations": -1}, "operations: Input should be greater than or equal to 1"),
    bad("operations-a-word", {"operations": "many"}, "operations: Input should be a valid integer"),
    bad("operations-a-billion", {"operations": 1_000_000_000}, "operations: Input should be less than or equal to"),
    bad("operations-fraction", {"operations": 2.5}, "operations: Input should be a valid integer"),
    bad("operations-and-duration-missing", {"operations": DROP}, "set duration, operations, or both"),
    bad("concurrency-zero", {"concurrency": 0}, "concurrency: Input should be greater than or equal to 1"),
    bad("concurrency-a-million", {"concurrency": 1_000_000}, "concurrency: Input should be less than or equal to"),
    bad("concurrency-a-word", {"concurrency": "many"}, "concurrency: Input should be a valid integer"),
    bad("operations-true", {"operations": True}, "operations: expected a number, not true or false"),
    BadFile(
        "concurrency-yes",
        BASE_TEXT.replace("concurrency: 2", "concurrency: yes"),
        ("line 4: concurrency: expected a number, not true or false (YAML reads yes, no, on and off as booleans)",),
    ),
    bad("seed-false", {"seed": False}, "seed: expected a number, not true or false"),
    bad("time-scale-true", {"time_scale": True}, "time_scale: expected a number, not true or false"),
    bad(
        "servers-on",
        {"system": {"name": "register", "servers": True}},
        "system.servers: expected a number, not true or false",
    ),
    bad(
        "mix-weight-true",
        {"workload.mix": {"read": True, "write": 1}},
        "workload.mix.read: expected a number, not true or false",
    ),
    bad("explore-crashes-true", {"explore.crashes": True}, "explore.crashes: expected a number, not true or false"),
    bad("concurrency-a-list", {"concurrency": [1, 2]}, "concurrency: Input should be a valid integer"),
    bad("time-scale-zero", {"time_scale": 0}, "time_scale: Input should be greater than or equal to 0.001"),
    bad("time-scale-negative", {"time_scale": -3600}, "time_scale: Input should be greater than or equal to 0.001"),
    bad("time-scale-tiny", {"time_scale": 1e-300}, "time_scale: Input should be greater than or equal to 0.001"),
    bad("time-scale-huge", {"time_scale": 1e300}, "time_scale: Input should be less than or equal to 1000000000"),
    bad("time-scale-a-word", {"time_scale": "fast"}, "time_scale: Input should be a valid number"),
    bad("time-scale-infinite", {"time_scale": float("inf")}, "time_scale: Input should be a finite number"),
    bad("time-scale-nan", {"time_scale": float("nan")}, "time_scale: Input should be a finite number"),
    bad("clock-unknown", {"clock": "wall"}, "clock: Input should be 'scaled' or 'virtual'"),
    bad(
        "virtual-clock-on-postgres",
        {"clock": "virtual", "stores.db": {"adapter": "postgres", "settings": {"dsn": "postgresql://u@127.0.0.1/db"}}},
        "clock: virtual time needs in-memory stores",
    ),
    bad("expect-unknown", {"expect": "maybe"}, "expect: Input should be 'valid' or 'invalid'"),
    bad("strict-a-word", {"strict": "very"}, "strict: Input should be a valid boolean"),
    bad("mode-unknown", {"mode": "fuzz"}, "mode: Input should be 'run' or 'explore'"),
    bad(
        "explore-on-postgres",
        {"mode": "explore", "stores.db": {"adapter": "postgres", "settings": {"dsn": "postgresql://u@127.0.0.1/db"}}},
        "mode: explore drives in-memory stores only",
    ),
    bad(
        "explore-with-a-transactional-check",
        {"mode": "explore", "checks": [{"type": "bank", "total": 100}]},
        "checks.0.type: mode: explore checks linearizability only",
    ),
    bad("secrets-a-string", {"secrets": "API_TOKEN"}, "secrets: Input should be a valid list"),
    bad("secrets-bad-name", {"secrets": ["not a name"]}, "secrets.0: String should match pattern"),
    bad("unknown-top-level-key", {"colour": "red"}, "colour: unknown key"),
    bad("misspelled-key", {"operatons": 10}, "operatons: unknown key"),
    bad("key-with-a-line-break", {"colour\nred": 1}, "colour\\nred: unknown key"),
    bad("key-with-an-escape-sequence", {"\x1b[31mred": 1}, "\\x1b[31mred: unknown key"),
    bad("nested-key-with-brackets", {"stores.db.list[str]": 1}, "stores.db.list[str]: unknown key"),
    bad(
        "several-problems",
        {"concurrency": "many", "colour": "red", "checks": DROP},
        "concurrency: Input should be a valid integer",
        "colour: unknown key",
        "checks: required field is missing",
    ),
]

# --------------------------------------------------------------------------------------------
# stores:, and each adapter's settings

PG = {"dsn": "postgresql://postgres@127.0.0.1:5432/test"}
S3 = {"bucket": "chaos", "endpoint_url": "http://127.0.0.1:9000"}
HTTP_OPS = {
    "get": {"method": "GET", "path": "/kv/{key}", "missing": [404]},
    "put": {"method": "PUT", "path": "/kv/{key}", "body": "{value}"},
}
HTTP = {"base_url": "http://127.0.0.1:8080", "operations": HTTP_OPS}
REDIS = {"url": "redis://127.0.0.1:6379/0"}


def store(adapter: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"stores.db": {"adapter": adapter, "settings": dict(settings)}}


def setting(adapter: str, base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    settings = {**base, **changes}
    for name, value in changes.items():
        if value is DROP:
            del settings[name]
    return store(adapter, settings)


STORES = [
    bad("stores-missing", {"stores": DROP}, "stores: required field is missing"),
    bad("stores-empty", {"stores": {}}, "stores: at least one store is needed"),
    bad("stores-a-list", {"stores": ["db"]}, "stores: Input should be a valid dictionary"),
    bad("store-a-string", {"stores.db": "memory"}, "stores.db: Input should be a valid dictionary"),
    bad("adapter-missing", {"stores.db": {"settings": {}}}, "stores.db.adapter: required field is missing"),
    bad("adapter-unknown", {"stores.db.adapter": "mongo"}, "stores.db.adapter: unknown adapter 'mongo'; known:"),
    bad("adapter-a-number", {"stores.db.adapter": 5}, "stores.db.adapter: Input should be a valid string"),
    bad("store-unknown-key", {"stores.db.colour": "red"}, "stores.db.colour: unknown key"),
    bad("settings-a-list", {"stores.db.settings": ["a"]}, "stores.db.settings: Input should be a valid dictionary"),
    # memory
    bad(
        "memory-unknown-setting",
        store("memory", {"size": 10}),
        "stores.db.settings.size: unknown setting",
    ),
    bad(
        "memory-name-a-list",
        store("memory", {"name": ["a"]}),
        "stores.db.settings.name: Input should be a valid string",
    ),
    bad(
        "memory-keep-a-word",
        store("memory", {"keep": "perhaps"}),
        "stores.db.settings.keep: Input should be a valid boolean",
    ),
    # postgres
    bad("postgres-dsn-missing", store("postgres", {}), "stores.db.settings.dsn: required setting is missing"),
    bad("postgres-dsn-not-a-url", setting("postgres", PG, dsn="host=localhost user=x"), "dsn: expected postgresql://"),
    bad("postgres-dsn-a-number", setting("postgres", PG, dsn=5432), "dsn: Input should be a valid string"),
    bad(
        "postgres-dsn-port-99999",
        setting("postgres", PG, dsn="postgresql://postgres@127.0.0.1:99999/test"),
        "stores.db.settings:",
        "dsn:",
        "port",
    ),
    bad("postgres-pool-size-zero", setting("postgres", PG, pool_size=0), "pool_size: Input should be greater than"),
    bad(
        "postgres-pool-size-huge", setting("postgres", PG, pool_size=1_000_000), "pool_size: Input should be less than"
    ),
    bad("postgres-min-above-max", setting("postgres", PG, min_size=10, max_size=2), "min_size cannot exceed max_size"),
    bad("postgres-isolation-unknown", setting("postgres", PG, isolation="chaos"), "isolation: Input should be"),
    bad(
        "postgres-statement-timeout-negative",
        setting("postgres", PG, statement_timeout=-1),
        "statement_timeout: a duration cannot be negative",
    ),
    bad(
        "postgres-command-timeout-a-word",
        setting("postgres", PG, command_timeout="soon"),
        "command_timeout: expected a duration",
    ),
    bad("postgres-table-empty", setting("postgres", PG, table=""), "table: String should have at least 1 character"),
    bad("postgres-unknown-setting", setting("postgres", PG, pool_sise=3), "pool_sise: unknown setting"),
    bad(
        "postgres-connect-timeout-zero",
        setting("postgres", PG, connect_timeout=0),
        "connect_timeout: Input should be greater than 0",
    ),
    bad(
        "postgres-connect-timeout-a-duration-word",
        setting("postgres", PG, connect_timeout="soon"),
        "connect_timeout: Input should be a valid number",
    ),
    bad(
        "postgres-retry-attempts-zero",
        setting("postgres", PG, retry={"attempts": 0}),
        "retry.attempts: Input should be greater than or equal to 1",
    ),
    bad("postgres-retry-unknown-key", setting("postgres", PG, retry={"tries": 3}), "retry.tries: unknown setting"),
    bad(
        "postgres-retry-multiplier-below-one",
        setting("postgres", PG, retry={"multiplier": 0.5}),
        "retry.multiplier: Input should be greater than or equal to 1",
    ),
    bad("postgres-pool-size-true", setting("postgres", PG, pool_size=True), "pool_size: expected a number, not true"),
    bad(
        "postgres-connect-timeout-true",
        setting("postgres", PG, connect_timeout=True),
        "connect_timeout: expected a number, not true",
    ),
    bad(
        "redis-retry-attempts-true",
        setting("redis", REDIS, retry={"attempts": True}),
        "retry.attempts: expected a number, not true",
    ),
    bad("postgres-keep-a-word", setting("postgres", PG, keep="sure"), "keep: Input should be a valid boolean"),
    # s3
    bad(
        "s3-bucket-missing",
        store("s3", {"endpoint_url": "http://127.0.0.1:9000"}),
        "stores.db.settings.bucket: required setting is missing",
    ),
    bad("s3-bucket-too-short", setting("s3", S3, bucket="ab"), "bucket: String should have at least 3 characters"),
    bad("s3-bucket-too-long", setting("s3", S3, bucket="b" * 64), "bucket: String should have at most 63 characters"),
    bad("s3-endpoint-not-http", setting("s3", S3, endpoint_url="ftp://127.0.0.1:9000"), "endpoint_url:"),
    bad("s3-endpoint-port-99999", setting("s3", S3, endpoint_url="http://127.0.0.1:99999"), "endpoint_url:", "port"),
    bad("s3-conditional-writes-unknown", setting("s3", S3, conditional_writes="maybe"), "conditional_writes:"),
    bad("s3-cas-rounds-zero", setting("s3", S3, cas_rounds=0), "cas_rounds: Input should be greater than or equal"),
    bad("s3-read-timeout-zero", setting("s3", S3, read_timeout=0), "read_timeout: Input should be greater than 0"),
    bad("s3-addressing-style-unknown", setting("s3", S3, addressing_style="diagonal"), "addressing_style:"),
    bad("s3-unknown-setting", setting("s3", S3, buckets="x"), "buckets: unknown setting"),
    # http
    bad("http-base-url-missing", store("http", {"operations": HTTP_OPS}), "base_url: required setting is missing"),
    bad("http-base-url-not-http", setting("http", HTTP, base_url="ftp://127.0.0.1"), "base_url: expected http(s)://"),
    bad("http-base-url-no-host", setting("http", HTTP, base_url="http://"), "base_url: expected http(s)://"),
    bad("http-base-url-port-99999", setting("http", HTTP, base_url="http://127.0.0.1:99999"), "base_url:", "port"),
    bad("http-base-url-port-a-word", setting("http", HTTP, base_url="http://127.0.0.1:eighty"), "base_url:", "port"),
    bad(
        "http-header-with-crlf",
        setting("http", HTTP, headers={"X-Token": "abc\r\nX-Injected: 1"}),
        "headers.X-Token",
        "line break",
    ),
    bad("http-header-name-with-space", setting("http", HTTP, headers={"X Token": "abc"}), "headers", "X Token"),
    bad(
        "http-header-a-list",
        setting("http", HTTP, headers={"X-Token": ["a"]}),
        "headers.X-Token: Input should be a valid string",
    ),
    bad("http-timeout-zero", setting("http", HTTP, timeout=0), "timeout: Input should be greater than 0"),
    bad(
        "http-method-with-spaces",
        setting("http", HTTP, operations={"get": {"method": "G E T"}}),
        "operations.get.method: expected an HTTP method",
    ),
    bad(
        "http-path-without-slash",
        setting("http", HTTP, operations={"get": {"path": "kv/{key}"}}),
        "operations.get.path: a path starts with /",
    ),
    bad(
        "http-result-unknown",
        setting("http", HTTP, operations={"get": {"result": "xml"}}),
        "operations.get.result: expected body, text, json",
    ),
    bad(
        "http-status-6xx",
        setting("http", HTTP, operations={"get": {"ok": ["6xx"]}}),
        "operations.get.ok: not a status code or pattern like 4xx",
    ),
    bad(
        "http-json-and-body",
        setting("http", HTTP, operations={"put": {"json": {"a": 1}, "body": "x"}}),
        "operations.put: give json or body, not both",
    ),
    bad(
        "http-unknown-placeholder",
        setting("http", HTTP, operations={"get": {"path": "/kv/{user}"}}),
        "operations.get: unknown placeholder(s) ['user']",
    ),
    bad("http-value-encoding-unknown", setting("http", HTTP, value_encoding="hex"), "value_encoding: Input should be"),
    bad(
        "http-operations-a-list",
        setting("http", HTTP, operations=["get"]),
        "operations: Input should be a valid dictionary",
    ),
    bad(
        "http-template-unknown-key",
        setting("http", HTTP, operations={"get": {"verb": "GET"}}),
        "operations.get.verb: unknown setting",
    ),
    bad("http-health-bad-path", setting("http", HTTP, health={"path": "health"}), "health.path: a path starts with /"),
    bad("http-pool-size-zero", setting("http", HTTP, pool_size=0), "pool_size: Input should be greater than or equal"),
    # redis
    bad("redis-url-missing", store("redis", {}), "stores.db.settings.url: required setting is missing"),
    bad("redis-url-other-scheme", setting("redis", REDIS, url="http://127.0.0.1:6379"), "url: expected redis://"),
    bad(
        "redis-url-port-99999",
        setting("redis", REDIS, url="redis://127.0.0.1:99999/0"),
        "url: the port must be a number from 1 to 65535",
    ),
    bad(
        "redis-url-database-a-name",
        setting("redis", REDIS, url="redis://127.0.0.1:6379/zero"),
        "url: the database (the path after the port) must be a number",
    ),
    bad("redis-pool-size-negative", setting("redis", REDIS, pool_size=-2), "pool_size: Input should be greater than"),
    bad(
        "redis-command-timeout-zero",
        setting("redis", REDIS, command_timeout=0),
        "command_timeout: Input should be greater than 0",
    ),
    bad("redis-unknown-setting", setting("redis", REDIS, prefx="x"), "prefx: unknown setting"),
]

# --------------------------------------------------------------------------------------------
# ${ENV} interpolation

ENV = [
    BadFile(
        "env-unset",
        BASE_TEXT.replace("name: corpus", "name: ${CHAOS_CORPUS_UNSET_NAME}"),
        ("line 1", "name: environment variable CHAOS_CORPUS_UNSET_NAME is not set"),
    ),
    BadFile(
        "env-unset-in-settings",
        variant(store("postgres", {"dsn": "${CHAOS_CORPUS_UNSET_DSN}"})),
        ("stores.db.settings.dsn: environment variable CHAOS_CORPUS_UNSET_DSN is not set",),
    ),
    BadFile(
        "env-empty-default",
        variant(store("postgres", {"dsn": "${CHAOS_CORPUS_UNSET_DSN:-}"})),
        ("dsn: expected postgresql://",),
    ),
    BadFile("env-malformed-reference", variant(store("postgres", {"dsn": "${}"})), ("dsn: expected postgresql://",)),
    BadFile(
        "env-secret-value-invalid",
        variant(store("redis", {"url": "${CHAOS_CORPUS_PASSWORD}"})),
        ("url: expected redis://",),
        env={"CHAOS_CORPUS_PASSWORD": "hunter2-sekrit-value"},
        hidden=("hunter2-sekrit-value",),
    ),
    BadFile(
        "env-listed-secret-in-bad-number",
        variant({"operations": "${CHAOS_CORPUS_OPS}", "secrets": ["CHAOS_CORPUS_OPS"]}),
        ("operations: Input should be a valid integer",),
        env={"CHAOS_CORPUS_OPS": "84512x7731"},
        hidden=("84512x7731",),
    ),
    BadFile(
        "env-listed-secret-unset",
        variant({"secrets": ["CHAOS_CORPUS_UNSET_SECRET"], "stores.db.settings.name": "${CHAOS_CORPUS_UNSET_SECRET}"}),
        ("environment variable CHAOS_CORPUS_UNSET_SECRET is not set",),
    ),
]

# --------------------------------------------------------------------------------------------
# system:, its module, its operations and its stores

SYSTEM = [
    bad("system-missing", {"system": DROP}, "system: required field is missing"),
    bad("system-a-number", {"system": 5}, "system: Input should be a valid dictionary"),
    bad("system-a-list", {"system": ["register"]}, "system: Input should be a valid dictionary"),
    bad("system-name-missing", {"system": {"servers": 2}}, "system.name: required field is missing"),
    bad("system-unknown-builtin", {"system": "registr"}, "system: unknown system 'registr'"),
    bad(
        "system-module-missing",
        {"system": "corpus_no_such_module:Thing"},
        "cannot import module 'corpus_no_such_module'",
    ),
    bad(
        "system-attribute-missing",
        {"system": "tests.systems:NoSuchThing"},
        "module 'tests.systems' has no attribute 'NoSuchThing'",
    ),
    bad("system-attribute-a-function", {"system": "tests.systems:decode"}, "'decode' is a function, not a class"),
    bad("system-attribute-a-constant", {"system": "chaos.experiment:MAX_KEYS"}, "'MAX_KEYS' is a"),
    bad("system-module-name-empty", {"system": ":Thing"}, "system:"),
    bad("system-attribute-name-empty", {"system": "tests.systems:"}, "system:"),
    bad("system-relative-module", {"system": ".systems:Thing"}, "system:"),
    bad(
        "system-servers-zero",
        {"system": {"name": "register", "servers": 0}},
        "system.servers: Input should be greater than or equal to 1",
    ),
    bad(
        "system-servers-a-million",
        {"system": {"name": "register", "servers": 1_000_000}},
        "system.servers: Input should be less than or equal to",
    ),
    bad(
        "system-stores-a-list",
        {"system": {"name": "register", "stores": ["db"]}},
        "system.stores: Input should be a valid dictionary",
    ),
    bad(
        "system-store-unknown",
        {"system": {"name": "register", "stores": {"db": "main"}}},
        "system.stores.db: no store named 'main' in stores",
    ),
    bad(
        "system-unexpected-errors-unknown",
        {"system": {"name": "register", "unexpected_errors": "ignore"}},
        "system.unexpected_errors: Input should be 'stop' or 'info'",
    ),
    bad(
        "system-options-a-list",
        {"system": {"name": "register", "options": [1]}},
        "system.options: Input should be a valid dictionary",
    ),
    bad("system-unknown-key", {"system": {"name": "register", "server": 2}}, "system.server: unknown key"),
    bad("roles-unbound", {"system": "profile-naive"}, "system needs store role(s)", "blobs"),
    bad(
        "roles-ambiguous",
        {"system": "profile-naive", "stores": {"main": {"adapter": "memory"}, "other": {"adapter": "memory"}}},
        "system needs store role(s) db, blobs",
    ),
    bad(
        "roles-one-store-for-two",
        {"system": "profile-naive", "stores": {"main": {"adapter": "memory"}}},
        "system needs store role(s)",
    ),
    bad(
        "operation-missing",
        {"workload.mix": {"read": 1, "increment": 1}},
        "workload.mix.increment: system 'register' has no operation 'increment'",
    ),
    bad(
        "operation-hook-name",
        {"workload.mix": {"read": 1, "setup": 1}},
        "workload.mix.setup: system 'register' has no operation 'setup'",
    ),
    bad(
        "operation-private",
        {"workload.mix": {"read": 1, "_write": 1}},
        "workload.mix._write: system 'register' has no operation '_write'",
    ),
    bad(
        "explore-operation-missing",
        {"mode": "explore", "explore.operations": ["read", "scan"]},
        "explore.operations.1: system 'register' has no operation 'scan'",
    ),
    bad(
        "http-system-template-missing",
        {"system": "http", "stores": {"api": {"adapter": "http", "settings": HTTP}}, "workload.mix": {"read": 1}},
        "workload.mix.read: system 'http' has no operation 'read'",
    ),
]

_IMPORT_FAILURES: dict[str, tuple[str | bytes, str]] = {
    "import-error": ("import corpus_missing_dependency\n", "No module named 'corpus_missing_dependency'"),
    "syntax-error": ("class Broken(:\n    pass\n", "invalid syntax"),
    "runtime-error": ("raise RuntimeError('no database configured')\n", "RuntimeError: no database configured"),
    "sys-exit-0": ("import sys\nsys.exit(0)\n", "SystemExit"),
    "sys-exit-message": ("import sys\nsys.exit('bye')\n", "SystemExit: bye"),
    "keyerror": ("import os\nTOKEN = os.environ['CHAOS_CORPUS_NO_SUCH_VAR']\n", "corpus_keyerror.py:2)"),
    "recursion": ("def f():\n    return f()\nf()\n", "RecursionError"),
    "zero-division": ("RATE = 1 / 0\n", "ZeroDivisionError: division by zero"),
    "two-line-message": ("raise RuntimeError('first line\\nsecond line')\n", "RuntimeError: first line\\nsecond line"),
    "not-a-class": ("System = 42\n", "'System' is a int, not a class"),
    "attribute-missing": ("class Other:\n    pass\n", "has no attribute 'System'"),
    "not-utf8": (b"NAME = '\xff\xfe'\n", "'utf-8' codec can't decode byte 0xff"),
}
"""A user's system module that fails on import, and what the error must say."""

_SETUP_RAISES = """\
from chaos.systems.register import Register


class System(Register):
    async def setup(self):
        raise RuntimeError("no schema\\nrun migrations first")
"""

_REQUEST_RAISES = """\
from chaos.systems.register import Register


class System(Register):
    @staticmethod
    def request(f, key, n, expected):
        raise ValueError(f"no value for n={n}")
"""

_ACTOR_RAISES = """\
from chaos.systems.register import Register


class Janitor:
    def __init__(self, env):
        self.env = env

    async def run(self):
        raise KeyError("imageId")


class System(Register):
    actors = {"janitor": Janitor}
"""

_LEAVES = frozenset({"run", *(f"run/{name}" for name in RUN_ARTIFACTS_ON_ERROR)})

RUN_ONLY = [
    BadFile(
        "system-setup-raises-two-lines",
        variant({"system": "corpus_setup_raises:System"}),
        (
            "error: the system's setup() raised RuntimeError: no schema\\nrun migrations first",
            "corpus_setup_raises.py:6",
        ),
        form="line",
        modules={"corpus_setup_raises.py": _SETUP_RAISES},
        commands=("run",),
        leaves=_LEAVES,
    ),
    BadFile(
        "system-request-hook-raises",
        variant({"system": "corpus_request_raises:System"}),
        ("error: the system's request() raised ValueError: no value for n=", "corpus_request_raises.py:7"),
        form="line",
        modules={"corpus_request_raises.py": _REQUEST_RAISES},
        commands=("run",),
        leaves=_LEAVES,
    ),
    BadFile(
        "system-request-hook-raises-exploring",
        variant(
            {
                "system": {"name": "corpus_request_raises_explore:System", "servers": 1},
                "mode": "explore",
                "operations": DROP,
                "explore.max_operations": 2,
            }
        ),
        ("error: the system's request() raised ValueError: no value for n=1", "corpus_request_raises_explore.py:7"),
        form="line",
        modules={"corpus_request_raises_explore.py": _REQUEST_RAISES},
        commands=("run",),
        leaves=_LEAVES,
    ),
    BadFile(
        "system-actor-raises",
        variant({"system": "corpus_actor_raises:System", "operations": 100_000}),
        ("error: the system's actor 'janitor' raised KeyError: 'imageId'", "corpus_actor_raises.py:9"),
        form="line",
        modules={"corpus_actor_raises.py": _ACTOR_RAISES},
        commands=("run",),
        leaves=_LEAVES,
    ),
    BadFile(
        "system-actor-raises-exploring",
        variant(
            {
                "system": {"name": "corpus_actor_raises_explore:System", "servers": 1},
                "mode": "explore",
                "operations": DROP,
                "explore.max_operations": 2,
            }
        ),
        ("error: the system's actor 'janitor' raised KeyError: 'imageId'", "corpus_actor_raises_explore.py:9"),
        form="line",
        modules={"corpus_actor_raises_explore.py": _ACTOR_RAISES},
        commands=("run",),
        leaves=_LEAVES,
    ),
]

IMPORTS: list[BadFile] = []
for _name, (_source, _said) in _IMPORT_FAILURES.items():
    _module = f"corpus_{_name.replace('-', '_')}"
    IMPORTS.append(
        BadFile(
            f"system-module-{_name}",
            variant({"system": f"{_module}:System"}),
            ("line 8", "system:", _module if _name not in ("not-a-class", "attribute-missing") else "System", _said),
            process=True,
            modules={f"{_module}.py": _source},
        )
    )

# --------------------------------------------------------------------------------------------
# workload:

WORKLOAD = [
    bad("workload-a-list", {"workload": ["read"]}, "workload: Input should be a valid dictionary"),
    bad("keys-zero", {"workload.keys": 0}, "workload.keys: at least one key is needed"),
    bad("keys-negative", {"workload.keys": -3}, "workload.keys: at least one key is needed"),
    bad("keys-a-billion", {"workload.keys": 1_000_000_000}, "workload.keys: at most 1,000,000 keys"),
    bad("keys-empty-list", {"workload.keys": []}, "workload.keys: keys must be a non-empty list"),
    bad(
        "keys-duplicate-names",
        {"workload.keys": ["a", "a"]},
        "workload.keys: keys must be a non-empty list of distinct names",
    ),
    bad("keys-a-word", {"workload.keys": "ten"}, "workload.keys:"),
    bad("keys-a-mapping", {"workload.keys": {"a": 1}}, "workload.keys:"),
    bad("mix-empty", {"workload.mix": {}}, "workload.mix: mix needs at least one operation"),
    bad("mix-negative", {"workload.mix": {"read": -1, "write": 1}}, "workload.mix: mix needs"),
    bad("mix-all-zero", {"workload.mix": {"read": 0, "write": 0}}, "workload.mix: mix needs"),
    bad("mix-a-list", {"workload.mix": ["read", "write"]}, "workload.mix: Input should be a valid dictionary"),
    bad(
        "mix-weight-a-word",
        {"workload.mix": {"read": "high", "write": 1}},
        "workload.mix.read: Input should be a valid number",
    ),
    bad("mix-weight-nan", {"workload.mix": {"read": float("nan"), "write": 1}}, "workload.mix.read:", "finite"),
    bad("mix-weight-infinite", {"workload.mix": {"read": float("inf"), "write": 1}}, "workload.mix.read:", "finite"),
    bad("rate-zero", {"workload.rate": 0}, "workload.rate: Input should be greater than 0"),
    bad("rate-negative", {"workload.rate": -10}, "workload.rate: Input should be greater than 0"),
    bad("rate-a-word", {"workload.rate": "fast"}, "workload.rate: Input should be a valid number"),
    bad("rate-infinite", {"workload.rate": float("inf")}, "workload.rate:", "finite"),
    bad(
        "rate-tiny-without-duration",
        {"workload.rate": 1e-300},
        "workload.rate: 20 operations at 1e-300 per second take",
        "set a duration, or a higher rate",
    ),
    bad(
        "mix-weights-overflow",
        {"workload.mix": {"read": 1e308, "write": 1e308}},
        "workload.mix: the weights add up to more than a float holds",
    ),
    bad("keys-not-strings", {"workload.keys": [1, 2]}, "workload.keys: key names must be strings"),
    bad("mix-operation-a-number", {"workload.mix": {1: 1}}, "workload.mix.1: Input should be a valid string"),
    bad(
        "operation-timeout-a-word",
        {"workload.operation_timeout": "soon"},
        "workload.operation_timeout: expected a duration",
    ),
    bad(
        "operation-timeout-negative",
        {"workload.operation_timeout": -1},
        "workload.operation_timeout: a duration cannot be negative",
    ),
    bad("workload-unknown-key", {"workload.value": 3}, "workload.value: unknown key"),
]

# --------------------------------------------------------------------------------------------
# checks:

CHECKS = [
    bad("checks-missing", {"checks": DROP}, "checks: required field is missing"),
    bad("checks-empty", {"checks": []}, "checks: List should have at least 1 item"),
    bad("checks-a-mapping", {"checks": {"model": "register"}}, "checks: Input should be a valid list"),
    bad("check-a-string", {"checks": ["register"]}, "checks.0: Input should be a valid dictionary"),
    bad("check-model-missing", {"checks": [{"time_limit": "10s"}]}, "checks.0.model: required field is missing"),
    bad("check-model-unknown", {"checks": [{"model": "serializable"}]}, "checks.0.model: unknown model 'serializable'"),
    bad("check-model-a-number", {"checks": [{"model": 5}]}, "checks.0.model: Input should be a valid string"),
    bad(
        "check-type-unknown",
        {"checks": [{"model": "register", "type": "serializability"}]},
        "checks.0.type: unknown check type; known: linearizability, elle, bank",
    ),
    bad(
        "check-time-limit-zero",
        {"checks": [{"model": "register", "time_limit": 0}]},
        "checks.0.time_limit: Input should be greater than 0",
    ),
    bad(
        "check-time-limit-a-word",
        {"checks": [{"model": "register", "time_limit": "long"}]},
        "checks.0.time_limit: expected a duration",
    ),
    bad(
        "check-memory-limit-a-word",
        {"checks": [{"model": "register", "memory_limit": "lots"}]},
        "checks.0.memory_limit: expected a size",
    ),
    bad(
        "check-memory-limit-negative",
        {"checks": [{"model": "register", "memory_limit": -1}]},
        "checks.0.memory_limit: a size cannot be negative",
    ),
    bad("check-unknown-key", {"checks": [{"model": "register", "timeout": "1s"}]}, "checks.0.timeout: unknown key"),
    bad("second-check-bad", {"checks": [{"model": "register"}, {"model": "nope"}]}, "checks.1.model: unknown model"),
]

# --------------------------------------------------------------------------------------------
# explore:

EXPLORE = [
    bad("explore-a-list", {"explore": ["exhaustive"]}, "explore: Input should be a valid dictionary"),
    bad("explore-strategy-unknown", {"explore.strategy": "dfs"}, "explore.strategy: Input should be"),
    bad(
        "explore-max-operations-zero",
        {"explore.max_operations": 0},
        "explore.max_operations: Input should be greater than or equal to 1",
    ),
    bad(
        "explore-max-operations-huge",
        {"explore.max_operations": 100},
        "explore.max_operations: Input should be less than or equal to 12",
    ),
    bad("explore-crashes-too-many", {"explore.crashes": 99}, "explore.crashes: Input should be less than or equal"),
    bad("explore-executions-zero", {"explore.executions": 0}, "explore.executions: Input should be greater than"),
    bad("explore-max-steps-small", {"explore.max_steps": 5}, "explore.max_steps: Input should be greater than"),
    bad("explore-time-limit-zero", {"explore.time_limit": 0}, "explore.time_limit: Input should be greater than 0"),
    bad("explore-depth-huge", {"explore.depth": 50}, "explore.depth: Input should be less than or equal to 20"),
    bad("explore-fault-rate-two", {"explore.fault_rate": 2}, "explore.fault_rate: Input should be less than or equal"),
    bad("explore-pauses-a-word", {"explore.pauses": "often"}, "explore.pauses: Input should be a valid list"),
    bad("explore-pause-a-word", {"explore.pauses": ["often"]}, "explore.pauses.0: expected a duration"),
    bad("explore-unknown-key", {"explore.strategies": "random"}, "explore.strategies: unknown key"),
]

# --------------------------------------------------------------------------------------------
# faults: every kind, its missing and invalid fields, and what it refers to


def fault(id: str, entry: Any, *named: str, **changes: Any) -> BadFile:
    return bad(f"fault-{id}", {"faults": [entry], **changes}, *named)


NET_STORE = {"stores.db": {"adapter": "postgres", "settings": PG}}

FAULTS = [
    bad("faults-a-mapping", {"faults": {"kind": "crash"}}, "faults: Input should be a valid list"),
    fault("a-string", "crash", "faults.0:"),
    fault("kind-missing", {"store": "db"}, "faults.0.kind: required field is missing (one of error-before"),
    fault("kind-unknown", {"kind": "explode"}, "faults.0.kind: unknown kind 'explode'; known:"),
    fault("kind-a-number", {"kind": 3}, "faults.0.kind:"),
    fault("store-unknown", {"kind": "error-before", "store": "pg"}, "faults.0.store: no store named 'pg' in stores"),
    fault(
        "probability-above-one",
        {"kind": "error-before", "probability": 1.5},
        "faults.0.probability: Input should be less than or equal to 1",
    ),
    fault(
        "probability-negative",
        {"kind": "error-before", "probability": -0.1},
        "faults.0.probability: Input should be greater than or equal to 0",
    ),
    fault("probability-nan", {"kind": "error-before", "probability": float("nan")}, "faults.0.probability:"),
    fault(
        "probability-yes",
        {"kind": "error-before", "probability": True},
        "faults.0.probability: expected a number, not true or false",
    ),
    fault("nth-true", {"kind": "error-before", "nth": True}, "faults.0.nth: expected a number, not true or false"),
    fault("every-zero", {"kind": "error-before", "every": 0}, "faults.0.every: Input should be greater than"),
    fault("nth-zero", {"kind": "error-before", "nth": 0}, "faults.0.nth: Input should be greater than"),
    fault(
        "two-frequencies",
        {"kind": "error-before", "probability": 0.5, "every": 2},
        "faults.0: choose one of probability, every, nth",
    ),
    fault("op-unknown", {"kind": "error-before", "op": "fetch"}, "faults.0.op: unknown operation fetch"),
    fault("op-empty-list", {"kind": "error-before", "op": []}, "faults.0.op:"),
    fault("op-a-number", {"kind": "error-before", "op": 5}, "faults.0.op:"),
    fault("key-a-number", {"kind": "error-before", "key": 5}, "faults.0.key: Input should be a valid string"),
    fault(
        "actor-a-list",
        {"kind": "error-before", "actor": ["server-0"]},
        "faults.0.actor: Input should be a valid string",
    ),
    fault("active-half-cycle", {"kind": "error-before", "active": {"on": "1s"}}, "a cycle needs both on and off"),
    fault(
        "active-end-before-start",
        {"kind": "error-before", "active": {"start": "5s", "end": "1s"}},
        "end must be after start",
    ),
    fault("active-a-word", {"kind": "error-before", "active": "always"}, "faults.0.active:"),
    fault(
        "active-unknown-key", {"kind": "error-before", "active": {"from": "1s"}}, "faults.0.active.from: unknown key"
    ),
    fault("error-before-unknown-field", {"kind": "error-before", "when": "after"}, "faults.0.when: unknown key"),
    fault(
        "error-after-error-unknown",
        {"kind": "error-after", "error": "boom"},
        "faults.0.error: Input should be 'lost' or 'timeout'",
    ),
    fault(
        "error-after-message-a-list",
        {"kind": "error-after", "message": ["a"]},
        "faults.0.message: Input should be a valid string",
    ),
    fault("crash-when-missing", {"kind": "crash"}, "faults.0.when: required field is missing"),
    fault("crash-when-unknown", {"kind": "crash", "when": "during"}, "faults.0.when: Input should be 'before' or"),
    fault("latency-delay-missing", {"kind": "latency"}, "faults.0.delay: required field is missing"),
    fault("latency-delay-a-word", {"kind": "latency", "delay": "slow"}, "faults.0.delay"),
    fault(
        "latency-delay-min-only",
        {"kind": "latency", "delay": {"min": "5ms"}},
        "faults.0.delay:",
        "give a delay as 50ms",
    ),
    fault(
        "latency-delay-max-below-min",
        {"kind": "latency", "delay": {"min": "20ms", "max": "1ms"}},
        "max must not be less than min",
    ),
    fault(
        "latency-delay-fixed-and-mean",
        {"kind": "latency", "delay": {"fixed": "1ms", "mean": "2ms"}},
        "a fixed delay takes no min, max or mean",
    ),
    fault("latency-delay-negative", {"kind": "latency", "delay": -5}, "faults.0.delay", "cannot be negative"),
    fault(
        "latency-when-unknown",
        {"kind": "latency", "delay": "1ms", "when": "sometimes"},
        "faults.0.when: Input should be",
    ),
    fault("stall-duration-zero", {"kind": "stall", "duration": 0}, "faults.0.duration: Input should be greater than 0"),
    fault("stall-duration-a-word", {"kind": "stall", "duration": "ages"}, "faults.0.duration: expected a duration"),
    fault("stall-when-both", {"kind": "stall", "when": "both"}, "faults.0.when: Input should be 'before' or 'after'"),
    fault("pause-nothing", {"kind": "pause"}, "faults.0:", "a pause needs a duration"),
    fault(
        "pause-window-without-actor",
        {"kind": "pause", "active": {"start": "1s", "end": "2s"}},
        "a pause without duration needs actor",
    ),
    fault(
        "pause-window-with-op",
        {"kind": "pause", "actor": "server-0", "active": {"start": "1s", "end": "2s"}, "op": "get"},
        "op: only for a pause with a duration",
    ),
    fault("pause-duration-negative", {"kind": "pause", "duration": -1}, "faults.0.duration:", "cannot be negative"),
    fault(
        "network-store-missing",
        {"kind": "network", "toxic": "latency", "latency": "5ms"},
        "faults.0.store: required field is missing",
        **NET_STORE,
    ),
    fault(
        "network-toxic-missing",
        {"kind": "network", "store": "db"},
        "faults.0.toxic: required field is missing",
        **NET_STORE,
    ),
    fault(
        "network-toxic-unknown",
        {"kind": "network", "store": "db", "toxic": "explode"},
        "faults.0.toxic: unknown toxic 'explode'; known:",
        **NET_STORE,
    ),
    fault(
        "network-on-memory",
        {"kind": "network", "store": "db", "toxic": "latency", "latency": "5ms"},
        "faults.0.store: store 'db' (memory) has no server address",
    ),
    fault(
        "network-store-unknown",
        {"kind": "network", "store": "pg", "toxic": "latency", "latency": "5ms"},
        "faults.0.store: no store named 'pg' in stores",
        **NET_STORE,
    ),
    fault(
        "network-latency-missing",
        {"kind": "network", "store": "db", "toxic": "latency"},
        "faults.0.latency: required field is missing",
        **NET_STORE,
    ),
    fault(
        "network-bandwidth-zero",
        {"kind": "network", "store": "db", "toxic": "bandwidth", "rate": 0},
        "faults.0.rate: Input should be greater than 0",
        **NET_STORE,
    ),
    fault(
        "network-down-mode-unknown",
        {"kind": "network", "store": "db", "toxic": "down", "mode": "melt"},
        "faults.0.mode: Input should be 'refuse' or 'drop'",
        **NET_STORE,
    ),
    fault(
        "network-timeout-missing",
        {"kind": "network", "store": "db", "toxic": "timeout"},
        "faults.0.timeout: required field is missing",
        **NET_STORE,
    ),
    fault(
        "network-limit-data-a-word",
        {"kind": "network", "store": "db", "toxic": "limit_data", "bytes": "lots"},
        "faults.0.bytes: expected a size",
        **NET_STORE,
    ),
    fault(
        "network-slicer-variation",
        {"kind": "network", "store": "db", "toxic": "slicer", "average_size": 10, "size_variation": 20},
        "size_variation must be less than average_size",
        **NET_STORE,
    ),
    fault(
        "network-direction-unknown",
        {"kind": "network", "store": "db", "toxic": "latency", "latency": "5ms", "direction": "sideways"},
        "faults.0.direction: Input should be",
        **NET_STORE,
    ),
    fault(
        "network-probability-two",
        {"kind": "network", "store": "db", "toxic": "reset_peer", "probability": 2},
        "faults.0.probability: Input should be less than or equal to 1",
        **NET_STORE,
    ),
    fault(
        "network-unknown-field",
        {"kind": "network", "store": "db", "toxic": "latency", "latency": "5ms", "op": "get"},
        "faults.0.op: unknown key",
        **NET_STORE,
    ),
    bad(
        "fault-second-entry-bad",
        {"faults": [{"kind": "crash", "when": "after"}, {"kind": "latency"}]},
        "faults.1.delay: required field is missing",
    ),
]

FILES: list[BadFile] = [
    *RUN_ONLY,
    *SYNTAX,
    *HOSTILE,
    *TOP,
    *STORES,
    *ENV,
    *SYSTEM,
    *IMPORTS,
    *WORKLOAD,
    *CHECKS,
    *EXPLORE,
    *FAULTS,
]
CASES: list[Case] = cases(FILES)
