"""Built-in systems under test. See :mod:`chaos.system` for the interface."""
