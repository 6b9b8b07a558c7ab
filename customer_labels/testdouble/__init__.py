"""The service as a test double for other projects: see ``testdouble.plugin`` (the
fixtures and hooks), ``double`` (what a test calls) and ``coverage`` (the report).

This package imports nothing of the service: the plugin runs the service in a
process of its own, so installing it never puts the service's modules on the
test suite's import path.
"""
