"""Opt-out requests: GitHub users, organisations, repositories and e-mail addresses (their
commits) to leave out of releases.

:mod:`optout.registry` keeps them (SQLite under the data root), :mod:`optout.targets` checks
what a request names, :mod:`optout.jsonl` imports and exports them, :mod:`optout.enforce`
matches the verified ones to records, :mod:`optout.stage` is the build's opt-out stage,
:mod:`optout.apply` takes them out of a published release, :mod:`optout.cli` is
``curate optout``.
"""
