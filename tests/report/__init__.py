"""Tests of what a run leaves for people and CI: the HTML report, JUnit XML, progress, the pytest plugin."""
