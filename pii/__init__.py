"""Find and redact personal and secret information (PII) in code: Presidio recognizers, a
trained NER encoder, redaction, evaluation and audits. Pure functions over texts and records."""
