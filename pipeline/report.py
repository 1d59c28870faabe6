"""The governance report: ``report.html`` in every release directory, one self-contained page
(its plots are PNGs inlined as data URIs: it opens with no network) that shows what a release
holds and what left it: kept records and bytes per language, licence classes and the top
licences, the exclusion funnel from ingest to release with its reasons, near-duplicate cluster
sizes, PII spans per label and language, the opt-out requests applied.

Made from the manifest, the kept shards' metadata columns and ``excluded/`` (never content):
the same release gives the same bytes (PNG metadata without software version or time).
Plots with matplotlib's Agg backend; every number plotted is also in a table beside it.
"""
from __future__ import annotations

import base64
import collections
import dataclasses
import html
import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.shards import file_sha256
from pipeline.stage import ReleaseStep

REPORT_FILE = "report.html"
TOP = 15  # bars per plot; the tables list the rest
_KEPT_COLUMNS = ["language", "size", "pii_spans"]
_EXCLUDED_COLUMNS = ["reason", "cluster_id"]


@dataclasses.dataclass
class ReleaseFacts:
    """What the report shows, read from a release."""

    records_by_language: collections.Counter
    bytes_by_language: collections.Counter
    pii_by_label: collections.Counter
    pii_by_language: dict[str, collections.Counter]
    cluster_sizes: collections.Counter  # records per near-duplicate cluster -> clusters


def read_facts(release_dir: Path, manifest: dict[str, Any]) -> ReleaseFacts:
    """The counts behind the plots, from the shards the manifest lists and ``excluded/``."""
    records, sizes, labels = collections.Counter(), collections.Counter(), collections.Counter()
    pii_by_language: dict[str, collections.Counter] = collections.defaultdict(
        collections.Counter)
    for shard in manifest["shards"]:
        table = pq.read_table(Path(release_dir) / shard["path"], columns=_KEPT_COLUMNS)
        for row in table.to_pylist():
            language = row["language"] or "unknown"
            records[language] += 1
            sizes[language] += row["size"] or 0
            for span in row["pii_spans"] or ():
                labels[span["label"]] += 1
                pii_by_language[language][span["label"]] += 1
    members: collections.Counter = collections.Counter()
    for shard in manifest.get("excluded_shards", []):
        table = pq.read_table(Path(release_dir) / shard["path"], columns=_EXCLUDED_COLUMNS)
        for reason, cluster in zip(table.column("reason").to_pylist(),
                                   table.column("cluster_id").to_pylist()):
            if reason == "near_duplicate" and cluster:
                members[cluster] += 1
    # a cluster is its kept record and the members excluded in its favour
    cluster_sizes = collections.Counter(count + 1 for count in members.values())
    return ReleaseFacts(records, sizes, labels, dict(pii_by_language), cluster_sizes)


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight",
                   metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def bar_plot(title: str, items: list[tuple[str, float]], xlabel: str) -> str:
    """A horizontal bar plot of ``items`` (largest first, at most :data:`TOP`) as base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    shown = items[:TOP]
    figure, axes = pyplot.subplots(figsize=(6.4, 0.35 * max(len(shown), 2) + 1.0))
    axes.barh([label for label, _ in reversed(shown)], [value for _, value in reversed(shown)],
              color="#3b6ea5")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    encoded = _png(figure)
    pyplot.close(figure)
    return encoded


def largest(counts: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(((str(key), value) for key, value in counts.items()),
                  key=lambda item: (-item[1], item[0]))


def html_table(header: tuple[str, ...], rows: list[tuple[Any, ...]],
               folded_after: int = TOP) -> str:
    """An HTML table; rows past ``folded_after`` fold into a <details> below it."""
    def render(body: list[tuple[Any, ...]]) -> str:
        head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
        cells = "".join("<tr>" + "".join(
            f"<td>{html.escape(f'{cell:,}' if isinstance(cell, int) else str(cell))}</td>"
            for cell in row) + "</tr>" for row in body)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"

    shown = render(rows[:folded_after]) if rows else "<p>None.</p>"
    if len(rows) > folded_after:
        shown += (f"<details><summary>{len(rows) - folded_after} more</summary>"
                  f"{render(rows[folded_after:])}</details>")
    return shown


def html_section(title: str, plot: str | None, table: str) -> str:
    image = (f'<img alt="{html.escape(title)}" src="data:image/png;base64,{plot}">'
             if plot else "")
    return f"<section><h2>{html.escape(title)}</h2><div class=row>{image}{table}</div></section>"


PAGE_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.row{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}img{max-width:100%}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.15rem .6rem;text-align:left}
td:not(:first-child){text-align:right}tr:nth-child(even){background:#f4f6f8}
.summary{font-size:1.05rem}"""


def render_report(manifest: dict[str, Any], facts: ReleaseFacts) -> str:
    """The report page of the release ``manifest`` describes."""
    counts = manifest["counts"]
    megabytes = {language: size / 1e6 for language, size in facts.bytes_by_language.items()}
    languages = largest(megabytes)
    funnel = [(stage["stage"], stage["in"], stage["kept"], stage["in"] - stage["kept"])
              for stage in manifest["stages"]]
    reasons = largest(counts["excluded_by_reason"])
    licences = largest(counts["kept_by_license"])
    pii_rows = [(language, sum(labels.values()),
                 ", ".join(f"{label} {count}" for label, count in largest(labels)))
                for language, labels in sorted(facts.pii_by_language.items(),
                                               key=lambda item: -sum(item[1].values()))]
    clusters = sorted(facts.cluster_sizes.items())
    requests = manifest.get("fingerprints", {}).get("optout", {}).get("requests", [])
    sections = [
        html_section("Kept records per language", bar_plot(
            "Kept content per language", languages, "MB") if languages else None,
            html_table(("language", "records", "MB"),
                   [(language, facts.records_by_language[language], f"{mb:.2f}")
                    for language, mb in languages])),
        html_section("Licences", bar_plot("Kept records per licence", licences, "records")
                 if licences else None,
                 html_table(("licence class", "records"),
                        largest(counts["kept_by_license_class"]))
                 + html_table(("licence (SPDX)", "records"), licences)),
        html_section("From ingest to release", bar_plot(
            "Records excluded, by reason", reasons, "records") if reasons else None,
            html_table(("stage", "in", "kept", "excluded"), funnel, folded_after=len(funnel))
            + html_table(("reason", "records"), reasons)),
        html_section("Near-duplicate clusters", bar_plot(
            "Clusters by size", [(f"{size} records", n) for size, n in clusters],
            "clusters") if clusters else None,
            html_table(("records in the cluster", "clusters"), clusters)),
        html_section("Personal data redacted", bar_plot(
            "PII spans by label", largest(facts.pii_by_label), "spans")
            if facts.pii_by_label else None,
            html_table(("language", "spans", "by label"), pii_rows)),
        html_section("Opt-out requests applied", None,
                 html_table(("request", "kind", "target"),
                        [(request["id"], request["kind"], request["target"])
                         for request in requests])),
    ]
    summary = (f"{counts['kept']:,} records kept of {counts['ingested']:,} read from "
               f"{manifest['repositories']:,} repositories; {counts['excluded']:,} excluded, "
               "each with its reason in <code>excluded/</code>.")
    title = f"stack-curate release {manifest['release']}"
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(title)}: governance report</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p class=summary>{summary}</p>{''.join(sections)}</body></html>\n")


class GovernanceReport(ReleaseStep):
    """``report.html``: the release's governance report (see the module docstring)."""

    name = "report"

    def write(self, release_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        path = Path(release_dir) / REPORT_FILE
        path.write_text(render_report(manifest, read_facts(release_dir, manifest)),
                        encoding="utf-8")
        return {"path": REPORT_FILE, "bytes": path.stat().st_size, "sha256": file_sha256(path)}
