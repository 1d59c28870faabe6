"""Deduplication: the shared keep rule and exact dedup (near dedup builds on them)."""
from pipeline.dedup.exact import exact_dedup_batches
from pipeline.dedup.keep import keep_key, mark_duplicates

__all__ = ["exact_dedup_batches", "keep_key", "mark_duplicates"]
