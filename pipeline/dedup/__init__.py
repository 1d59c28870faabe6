"""Deduplication: the shared keep rule, exact dedup, and MinHash near dedup."""
from pipeline.dedup.exact import exact_dedup_batches
from pipeline.dedup.keep import keep_key, mark_duplicates
from pipeline.dedup.minhash import is_short, minhash_signatures
from pipeline.dedup.near import band_hashes, cluster_group, optimal_bands

__all__ = ["band_hashes", "cluster_group", "exact_dedup_batches", "is_short", "keep_key",
           "mark_duplicates", "minhash_signatures", "optimal_bands"]
