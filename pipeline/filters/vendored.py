"""Vendored files: third-party code copied into a repository, judged by its path.

The Stack v2 drops what go-enry calls vendored (Lozhkov et al. 2024, §2.4), and go-enry
takes its rules from GitHub linguist's ``vendor.yml``. Our list keeps the part of those
rules that names third-party code (dependency directories, bundled copies of libraries,
minified assets, build-tool wrappers) and leaves out the part that only serves linguist's
language statistics and would drop a project's own code here: ``dist/``, ``cache/``,
``deps/``, ``tools/``, ``extern(al)/``, ``docs/_build``, ``*.d.ts``, ``Jenkinsfile``,
``Vagrantfile``, ``test/fixtures``.
"""
from __future__ import annotations

from pipeline.filters.base import PathRules
from pipeline.reasons import Reason
from pipeline.stage import RecordFilter

VENDORED_PATHS = PathRules(
    directories=[
        # package managers' install directories
        "node_modules", "bower_components", "jspm_packages", "web_modules",  # JavaScript
        r"\.yarn",  # Yarn 2+ commits its own release, plugins and cache here
        "site-packages", "dist-packages", "__pypackages__", r"\.venv", r"\.tox", r"\.eggs",
        "godeps/_workspace",  # Go before modules
        # copied-in third-party code, by convention. Python's "_vendor" (pip, setuptools)
        # is left to dedup on purpose: its copies are exact or near duplicates of their
        # upstream packages, and dedup keeps one copy by the keep rule, where a path rule
        # would also drop code whose upstream is not in the corpus.
        "vendor", "vendors", "third[-_]?party", "3rd[-_]?party",
        # build-tool wrappers: the same generated files in every repository that has them
        "gradle/wrapper", r"\.mvn/wrapper",
    ],
    root_directories=("(?-i:Pods)", "(?-i:Carthage)"),  # CocoaPods and Carthage checkouts
    files=[
        r".+[.-]min\.(?:js|mjs|cjs|css)",  # minified JavaScript and CSS
        # single-file copies of widely bundled front-end libraries
        r"jquery(?:[-.]ui)?(?:-\d+(?:\.\d+)*)?\.(?:js|css)",
        r"bootstrap(?:-theme|-grid|-reboot|\.bundle)?\.(?:js|css)",
        r"modernizr(?:-\d+(?:\.\d+)*|\.custom(?:\.\d+)?)?\.js",
        r"html5shiv(?:-printshiv)?\.js", r"normalize\.css", r"font-awesome\.css",
        # build-tool wrapper scripts (Gradle, Maven)
        r"gradlew(?:\.bat)?", r"mvnw(?:\.cmd)?",
        # GNU config and libtool files autotools copies into a source tree
        r"config\.guess", r"config\.sub", r"ltmain\.sh", r"install-sh",
        r"libtool\.m4", r"lt~obsolete\.m4", r"ltoptions\.m4", r"ltsugar\.m4", r"ltversion\.m4",
    ],
)


class VendoredFilter(RecordFilter):
    """Drops files whose path marks them as third-party code (see the module docstring)."""

    reason = Reason.VENDORED

    def violation(self, record: dict) -> dict | None:
        return VENDORED_PATHS.match(record["path"])
