"""Systems under test and models written the way a team adopting the framework writes them:
from the README alone (the classes, hooks, errors and ``env`` it documents), one small module
per trap that tests/test_traps.py sets. None of them imports the framework's internals."""
