"""asyncchaos: asyncio chaos testing with a linearizability checker.

Run an experiment::

    chaos run experiments/register-memory.yaml

or re-check a stored history::

    chaos check runs/register-memory/<stamp>/history.jsonl --model cas-register
"""

__version__ = "0.1.0"
