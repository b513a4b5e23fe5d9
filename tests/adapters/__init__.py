"""Adapter tests: one conformance suite over every backend, bad input, experiments."""
