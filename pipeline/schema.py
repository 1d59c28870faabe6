"""The one record schema every stage reads and writes.

A record is a plain ``dict`` keyed by the field names below; a batch of records is a
``pyarrow.RecordBatch`` with :data:`RECORD_SCHEMA`. Every stage also emits the
exclusion fields (:data:`EXCLUSION_FIELDS`): they are null on a kept record and say why,
where and in favour of what a record was excluded otherwise, and the private fields
(:data:`PRIVATE_FIELDS`), which stages read but no release carries. :data:`STAGE_SCHEMA` is the
union, the shape of a stage's persisted output; :data:`EXCLUDED_SCHEMA` (records and exclusion
fields) is the shape of ``excluded/`` in a release; :data:`RECORD_SCHEMA` that of the shards.

Fields (all strings UTF-8, all hashes lowercase hex):

- ``id``: stable, content-addressed id: sha256 of ``kind``, ``repo``, ``path`` and the git
  blob sha, so the same file at the same path of the same repository keeps its id across
  builds, and any change of its bytes gives a new one (a notebook's two records differ by kind).
  A ``commit`` record's blob sha there is ``<commit sha>:<blob sha of the new contents>``
  (nothing after the colon for a deletion): one id per file a commit changed. An ``issue``
  record's is the blob sha of its conversation as read (below).
- ``kind``: what the record is: ``file``; ``notebook``, a Jupyter notebook as a script in its
  kernel's language; ``notebook_structured``, the same notebook as
  ``<jupyter_start><jupyter_text>...<jupyter_code>...<jupyter_output>...``
  (``pipeline/ingest/notebooks.py``; the two forms are two kinds rather than a ``form`` field,
  so that shards, counts per kind and near dedup's scope keep them apart with no new field);
  or ``repository`` for the one record that accounts for a source that could not be read
  A ``.ipynb`` file gives its two notebook records and no
  ``file`` record: nothing is counted twice. ``commit``: one file a git commit changed, as
  ``<commit_before>OLD<commit_msg>SUBJECT<commit_after>NEW`` (``pipeline/ingest/commits.py``);
  a commit over the files limit, or a history that could not be read, gives one with path "".
  ``issue``: one GitHub issue conversation, as ``<issue_start><issue_comment>Title: ...
  \nusername_0: ...<issue_comment>username_1: ...<issue_closed>`` with pseudonymised
  usernames (``pipeline/ingest/issues.py``); an issues input, or a line of one, that could not
  be read gives one excluded, with ``repo`` the manifest line's name and ``path`` the input's
  file name (``#L<line>`` for a line), never its directory.
- ``repo``: ``owner/name`` as given in the repository manifest (for issues: the repository of
  the events).
- ``source_url``: where the public gets the source: the manifest's ``url`` (a git URL, or a
  registry's page of the package version an archive came from), else the ``source`` when it is
  a public URL (credentials removed), else null; never a path of the build machine
  (:func:`pipeline.ingest.manifest.public_url`). For issues, the issue's page on GitHub.
- ``revision``: commit sha the file was read at (of the commit, for commit records); null for
  directories and archives.
- ``revision_date``: committer date of ``revision`` (UTC); null where unknown. For issues
  (``revision`` null), the time of the conversation's last event read.
- ``path``: POSIX path of the file relative to the repository root (of the ``.ipynb`` file
  for notebook records; of the changed file after the commit, before it for a deletion, for
  commit records); ``issues/<number>`` for issue records.
- ``blob_sha``: git blob sha1 of the raw bytes (``git hash-object``), computed for every
  source, so files compare across git and archive sources. For issues, of the conversation
  as read (canonical JSON of its title, state and posts, before filters), whose bytes
  ``size`` counts too.
- ``language``: language from the extension/filename table (``pipeline/ingest/languages.py``);
  for notebook records, the language of the notebook's kernel (its metadata), named as in
  that table; null when the file is of no language the build keeps, and for issues (prose:
  their shards are ``data/issue/unknown/``).
- ``extension``: lowercase extension without the dot (``py``, ``ipynb``); empty when there is
  none.
- ``size``: size of the raw bytes (of the whole ``.ipynb`` file for notebook records; of the
  new contents for commit records, whose ``blob_sha`` and ``encoding`` are theirs too).
- ``encoding``: the encoding the bytes were decoded from (``utf-8``, ``cp1252``, ...).
- ``content``: the decoded text (for notebook records, the text of their form); null on
  excluded records unless the config keeps it.
- ``content_hash``: sha256 of the UTF-8 encoded ``content``: the key of exact dedup; after the
  PII stage, the hash of the redacted content as released.
- ``license``: SPDX expression that applies to the file; null when none was found. Issues
  take their repository's root licence in the licences stage (``licenses.issue_license``).
- ``license_class``: ``permissive`` | ``no_license`` | ``non_permissive``.
- ``license_source``: ``metadata`` (the manifest's licence) or the repository path of the
  licence file(s) the decision came from, ``;``-separated; null with ``no_license``.
- ``stars``, ``forks``: repository popularity from the manifest (0 when not given).
- ``pii_spans``: what the PII stage redacted, at its offsets in the redacted ``content``: one
  ``{start, end, label, score, detector}`` per placeholder (never the original value); empty
  when nothing was found, null when the record was not scanned (PII stage off, or excluded
  before it).
- ``reason``: null when kept; else one :class:`pipeline.reasons.Reason` value.
- ``stage``: the stage that excluded the record.
- ``details``: JSON object with the measured value and threshold behind the reason.
- ``duplicate_of``: for duplicates, the id of the record kept in this one's place.
- ``cluster_id``: for near duplicates, the id of the cluster (the id of its kept record).

Private (never in shards nor in ``excluded/``; the build writes them to
``OUT/private/authors.parquet``, beside the releases and never inside one, for opt-out):

- ``authors``: the people whose words the record carries, for records whose text names
  them only under pseudonyms or not at all (issues: the GitHub logins of its authors and
  commenters; commits: the author's login where known and e-mail address), lower case, sorted,
  distinct; null for files and notebooks, whose people are their repository's owner. A user
  opt-out request covers a record whose ``authors`` holds its login, an e-mail request one
  whose ``authors`` holds its address.
"""
from __future__ import annotations

import hashlib

import pyarrow as pa

SCHEMA_VERSION = "1.3"  # 1.1: pii_spans; 1.2: the notebook kinds and kind counts; 1.3: authors

PII_SPAN_TYPE = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()),
                           ("score", pa.float64()), ("detector", pa.string())])

RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("repo", pa.string(), nullable=False),
        pa.field("source_url", pa.string()),
        pa.field("revision", pa.string()),
        pa.field("revision_date", pa.timestamp("us", tz="UTC")),
        pa.field("path", pa.string(), nullable=False),
        pa.field("blob_sha", pa.string()),
        pa.field("language", pa.string()),
        pa.field("extension", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("encoding", pa.string()),
        pa.field("content", pa.string()),
        pa.field("content_hash", pa.string()),
        pa.field("license", pa.string()),
        pa.field("license_class", pa.string()),
        pa.field("license_source", pa.string()),
        pa.field("stars", pa.int64()),
        pa.field("forks", pa.int64()),
        pa.field("pii_spans", pa.list_(PII_SPAN_TYPE)),
    ]
)

EXCLUSION_FIELDS = (
    pa.field("reason", pa.string()),
    pa.field("stage", pa.string()),
    pa.field("details", pa.string()),
    pa.field("duplicate_of", pa.string()),
    pa.field("cluster_id", pa.string()),
)

PRIVATE_FIELDS = (
    pa.field("authors", pa.list_(pa.string())),
)

EXCLUDED_SCHEMA = pa.schema(list(RECORD_SCHEMA) + list(EXCLUSION_FIELDS))

STAGE_SCHEMA = pa.schema(list(EXCLUDED_SCHEMA) + list(PRIVATE_FIELDS))

AUTHORS_SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False),
                            pa.field("kind", pa.string(), nullable=False),
                            pa.field("repo", pa.string(), nullable=False),
                            PRIVATE_FIELDS[0]])

FIELD_NAMES = tuple(STAGE_SCHEMA.names)


def git_blob_sha(data: bytes) -> str:
    """The sha1 git gives ``data`` as a blob (``git hash-object``)."""
    header = b"blob %d\0" % len(data)
    return hashlib.sha1(header + data).hexdigest()


def record_id(kind: str, repo: str, path: str, blob_sha: str) -> str:
    """Stable content-addressed id of a record (see the module docstring)."""
    key = "\0".join((kind, repo, path, blob_sha or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def content_hash(text: str) -> str:
    """sha256 of the UTF-8 bytes of ``text``: the exact-dedup key."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def new_record(**fields: object) -> dict:
    """A record with every field of :data:`STAGE_SCHEMA` present (missing ones null)."""
    unknown = set(fields) - set(FIELD_NAMES)
    if unknown:
        raise ValueError(f"unknown record fields: {sorted(unknown)}")
    record = dict.fromkeys(FIELD_NAMES)
    record.update(fields)
    return record


def to_batch(records: list[dict]) -> pa.RecordBatch:
    """Records to an Arrow batch with :data:`STAGE_SCHEMA` (the one conversion point)."""
    return pa.RecordBatch.from_pylist(records, schema=STAGE_SCHEMA)
