"""Hostile-input fuzzing of the public API (issue 6).

``target`` holds the one check every fuzzer runs (hypothesis, atheris, the
corpus replay); ``mutations`` the byte-level mutators.  Both are stdlib-only
so that the atheris harness runs without hypothesis installed.
"""
