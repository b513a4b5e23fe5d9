"""``python -m chaos``: the same as the ``chaos`` command."""

from .cli import main

main()
