"""Jupyter servers for the tests: tools/sites/lab_runner.py, where the demo starts its own."""

from lab_runner import RunningServer, start_server

__all__ = ["RunningServer", "start_server"]
