"""Start-up of the CLI: ``python bench/startup.py [--runs N]``.

Times the ``chaos`` console script, end to end as a user's shell sees it, for the commands a
CI job or a person runs most often on small input: ``chaos --help``, ``chaos validate`` on the
README's experiment, and ``chaos check`` on a four-operation history. Each command runs
``--runs`` times (default 15) after one warm-up run, which writes the bytecode caches a
``pip install`` would have written; the figures are min / median / max wall seconds.

It also lists which heavy libraries each command imported (aiobotocore, asyncpg, aiohttp,
jinja2, rich, tenacity, pydantic): a command that loads one it does not need pays for it on
every call.

An editable install (``pip install -e``) is slower to start than a regular one, its import
hook being asked for every module: compare with ``pip install .`` in another environment and
run this script with that environment's Python.

``PYTHONDONTWRITEBYTECODE`` is removed from the commands' environment: with it set, every
module is compiled from source on every call, which measures the interpreter's compiler rather
than the tool.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("aiobotocore", "asyncpg", "aiohttp", "jinja2", "rich", "tenacity", "pydantic")

HISTORY = [
    {"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 0},
    {"process": 0, "type": "ok", "f": "write", "value": 1, "time": 10},
    {"process": 1, "type": "invoke", "f": "read", "value": None, "time": 20},
    {"process": 1, "type": "ok", "f": "read", "value": 1, "time": 30},
]

PROBE = """
import sys
sys.argv = {argv!r}
from chaos.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print("HEAVY " + ",".join(heavy), file=sys.stderr)
"""


def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return took


def heavy_imports(args: list[str], env: dict[str, str]) -> str:
    code = PROBE.format(argv=["chaos", *args], heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in done.stderr.splitlines() if line.startswith("HEAVY ")]
    return lines[-1][6:] if lines else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    args = parser.parse_args()
    chaos = shutil.which("chaos", path=str(Path(sys.executable).parent)) or shutil.which("chaos")
    if chaos is None:
        raise SystemExit("the chaos console script is not installed: pip install -e .")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.jsonl"
        history.write_text("".join(json.dumps(event) + "\n" for event in HISTORY))
        commands = {
            "chaos --help": ["--help"],
            "chaos validate experiments/register-memory.yaml": ["validate", "experiments/register-memory.yaml"],
            "chaos check (4 operations)": ["check", str(history), "--model", "register"],
        }
        print(f"{'command':<52} {'min':>6} {'median':>7} {'max':>6}  heavy imports")
        for label, argv in commands.items():
            wall([chaos, *argv], env)  # warm-up: bytecode caches
            times = [wall([chaos, *argv], env) for _ in range(args.runs)]
            print(
                f"{label:<52} {min(times):6.3f} {statistics.median(times):7.3f} {max(times):6.3f}  "
                f"{heavy_imports(argv, env) or '-'}"
            )
    load = os.getloadavg()[0]
    where = subprocess.run(
        [sys.executable, "-c", "import chaos; print(chaos.__file__)"], env=env, capture_output=True, text=True
    ).stdout.strip()
    kind = "an editable install, whose import hook adds to every start" if where.startswith(str(ROOT)) else "installed"
    print(f"(wall seconds over {args.runs} runs; load average {load:.2f} on {os.cpu_count()} cores; chaos {kind})")


if __name__ == "__main__":
    main()
