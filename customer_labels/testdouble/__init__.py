"""The service as a test double for other projects: see ``testdouble.plugin``.

This package imports nothing of the service: the plugin runs the service in a
process of its own, so installing it never puts the service's modules on the
test suite's import path.
"""
