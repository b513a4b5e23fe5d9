"""The bad-input corpus: every command and every file the tool reads, given what a hostile or
careless user would give it.

Each case is data (:class:`tests.bad_input.corpus.Case`): the command line, the files it
reads, and what must come out: the exit code (3 bad input, 4 infrastructure), one line on
stderr (an experiment's problem list, or click's usage form, where that is the promised
shape), no traceback, the problem named, hostile input refused within seconds, and nothing
left behind. ``python -m tests.bad_input`` prints the number of cases per command.
"""
