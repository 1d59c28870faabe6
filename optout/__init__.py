"""Opt-out requests: GitHub users, organisations and repositories to leave out of releases.

:mod:`optout.registry` keeps them (SQLite under the data root), :mod:`optout.targets` checks
what a request names, :mod:`optout.jsonl` imports and exports them, :mod:`optout.cli` is
``curate optout``.
"""
