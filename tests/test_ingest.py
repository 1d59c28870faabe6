"""Ingest against real git repositories, directories and archives built by the tests."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import stat
import struct
import subprocess
import tarfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import IngestedRepo, ingest_repository
from pipeline.ingest.decode import decode, is_binary
from pipeline.ingest.languages import LANGUAGES, extension_of, language_for
from pipeline.ingest.manifest import ManifestError, RepoEntry, public_url, read_manifest
from pipeline.reasons import Reason
from pipeline.ingest.readers import SourceError, open_snapshot, redacted_source
from pipeline.ingest.readers.base import checked_path
from pipeline.schema import git_blob_sha, record_id, to_batch

CONFIG = IngestConfig(max_file_bytes=2000)
UNREADABLE = Reason.UNREADABLE.value
SPECIAL_FILE = Reason.SPECIAL_FILE.value
GITLINK = Reason.SUBMODULE.value

CP1252_TEXT = "// Größe der Übergabe prüfen – “Änderung” für Köln\nint groesse = 0;\n"
LATIN1_TEXT = ("# Résumé: la méthode vérifie l'élément sélectionné\n"
               "def vérifier(élément):\n    return élément\n")
UNDECODABLE = bytes(random.Random(7).choices(range(1, 256), k=512))  # no NUL
COMMIT_DATE = "2023-04-05T06:07:08+02:00"

# Path -> bytes of the repository fixture (links are added beside these).
REPO_FILES = {
    "src/main.py": b"def main():\n    return 42\n",
    "README.md": b"# Demo\n\nA demo repository.\n",
    "LICENSE": b"Demo licence text written for this test.\n",
    "docs/notes.unknownext": b"plain notes\n",
    "lib/cp1252.c": CP1252_TEXT.encode("cp1252"),
    "lib/latin1.py": LATIN1_TEXT.encode("latin-1"),
    "lib/bom.js": b"\xef\xbb\xbfconst x = 1;\n",
    "data/blob.py": b"\x89PNG\r\n\x1a\n\x00\x00\x00binary",
    "src/huge.py": b"x = 1\n" * 400,  # 2400 bytes > CONFIG.max_file_bytes
    "src/garbage.py": UNDECODABLE,
    "Makefile": b"all:\n\ttrue\n",
    "docker/Dockerfile.dev": b"FROM scratch\n",
}
EXPECTED_REASONS = {
    "src/main.py": None,
    "README.md": None,
    "LICENSE": "unsupported_language",
    "docs/notes.unknownext": "unsupported_language",
    "lib/cp1252.c": None,
    "lib/latin1.py": None,
    "lib/bom.js": None,
    "data/blob.py": "binary",
    "src/huge.py": "too_large",
    "src/garbage.py": "undecodable",
    "Makefile": None,
    "docker/Dockerfile.dev": None,
    "link_out": "symlink",
    "vendor/sub": GITLINK,  # a submodule
}


def is_license_file(path: str) -> bool:
    return path.rsplit("/", 1)[-1].upper().startswith("LICENSE")


def git(*args: str, cwd: Path, date: str = COMMIT_DATE) -> str:
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="Test", GIT_AUTHOR_EMAIL="test@example.org",
               GIT_COMMITTER_NAME="Test", GIT_COMMITTER_EMAIL="test@example.org",
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def write_files(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git repository of two commits; HEAD holds REPO_FILES, a link and a submodule."""
    root = tmp_path_factory.mktemp("repo") / "demo"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    write_files(root, {"src/main.py": b"old\n", "gone.py": b"removed later\n"})
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "first", cwd=root, date="2022-01-01T00:00:00+00:00")
    (root / "gone.py").unlink()
    write_files(root, REPO_FILES)
    os.symlink("/etc/passwd", root / "link_out")
    git("add", "-A", cwd=root)
    git("update-index", "--add", "--cacheinfo", f"160000,{'ab' * 20},vendor/sub", cwd=root)
    git("commit", "-q", "-m", "second", cwd=root)
    (root / "src/main.py").write_bytes(b"uncommitted change\n")  # HEAD is read, not the tree
    return root


def ingest(source: str | Path, tmp_path: Path, config: IngestConfig = CONFIG) -> IngestedRepo:
    entry = RepoEntry("demo/repo", str(source), stars=3, forks=1)
    return ingest_repository(entry, config, tmp_path / "scratch", is_license_file)


def by_path(result: IngestedRepo) -> dict[str, dict]:
    return {record["path"]: record for record in result.records}


def reasons(result: IngestedRepo) -> dict[str, str | None]:
    return {record["path"]: record["reason"] for record in result.records}


def tree_shas(root: Path) -> dict[str, str]:
    listing = git("ls-tree", "-r", "-z", "HEAD", cwd=root)
    return {item.split("\t", 1)[1]: item.split()[2] for item in listing.split("\0") if item}


def check_git_snapshot(result: IngestedRepo, root: Path) -> None:
    records = result.records
    assert [record["path"] for record in records] == sorted(EXPECTED_REASONS)
    assert reasons(result) == EXPECTED_REASONS
    head = git("rev-parse", "HEAD", cwd=root).strip()
    committed = datetime.fromisoformat(git("log", "-1", "--format=%cI", cwd=root).strip())
    assert {record["revision"] for record in records} == {head}
    assert {record["revision_date"] for record in records} == {committed.astimezone(timezone.utc)}
    shas = tree_shas(root)
    files = by_path(result)
    for path, sha in shas.items():
        if path != "vendor/sub":
            assert files[path]["blob_sha"] == sha, path
    for path, data in REPO_FILES.items():
        assert git_blob_sha(data) == shas[path]
    assert files["vendor/sub"]["blob_sha"] is None
    assert json.loads(files["vendor/sub"]["details"]) == {"gitlink": True, "commit": "ab" * 20}
    assert json.loads(files["link_out"]["details"])["target"] == "/etc/passwd"
    main = files["src/main.py"]
    assert main["content"] == REPO_FILES["src/main.py"].decode()
    assert (main["language"], main["extension"], main["encoding"]) == ("python", "py", "utf-8")
    assert main["id"] == record_id("file", "demo/repo", "src/main.py", shas["src/main.py"])
    assert (main["stars"], main["forks"], main["license"], main["stage"]) == (3, 1, None, None)
    assert files["lib/cp1252.c"]["content"] == CP1252_TEXT
    assert files["lib/latin1.py"]["content"] == LATIN1_TEXT
    assert (files["lib/bom.js"]["content"], files["lib/bom.js"]["encoding"]) == (
        "const x = 1;\n", "utf-8-sig")
    assert files["Makefile"]["language"] == "makefile"
    assert files["docker/Dockerfile.dev"]["language"] == "dockerfile"
    assert json.loads(files["src/huge.py"]["details"]) == {"size": 2400, "max_file_bytes": 2000}
    assert files["src/huge.py"]["size"] == 2400
    for record in records:
        assert (record["content"] is None) == (record["reason"] is not None)
        assert record["stage"] == (None if record["reason"] is None else "ingest")
    assert result.license_files == {"LICENSE": REPO_FILES["LICENSE"].decode()}
    to_batch(records)  # the records fit the schema


def test_local_git_repository_is_read_at_head(repo, tmp_path):
    result = ingest(repo, tmp_path)
    check_git_snapshot(result, repo)
    assert {record["source_url"] for record in result.records} == {None}  # a local path
    assert not (tmp_path / "scratch").exists()  # read in place, nothing cloned
    assert ingest(repo, tmp_path).records == result.records  # deterministic


def test_file_url_is_cloned_shallow_and_bare(repo, tmp_path):
    url = repo.as_uri()
    with open_snapshot(url, CONFIG, tmp_path / "scratch") as snapshot:
        (clone,) = (tmp_path / "scratch").iterdir()
        assert (clone / "shallow").is_file()  # --depth 1
        assert not (clone / "src").exists()  # bare: nothing checked out
        assert len(list(snapshot.files)) == len(EXPECTED_REASONS)
    assert not any((tmp_path / "scratch").iterdir())  # clone removed
    result = ingest(url, tmp_path)
    check_git_snapshot(result, repo)
    assert result.records[0]["source_url"] is None  # file: is no public URL


def test_local_path_ending_dot_git_is_cloned(repo, tmp_path):
    bare = tmp_path / "mirror.git"
    git("clone", "-q", "--bare", str(repo), str(bare), cwd=tmp_path)
    check_git_snapshot(ingest(bare, tmp_path), repo)


def test_nothing_from_the_repository_is_executed(tmp_path):
    root = tmp_path / "hostile"
    root.mkdir()
    marker = tmp_path / "executed"
    script = tmp_path / "payload.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n")
    script.chmod(0o755)
    git("init", "-q", "-b", "main", cwd=root)
    write_files(root, {".gitattributes": b"* filter=evil\n", "a.py": b"x = 1\n"})
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "m", cwd=root)
    for key, value in (("core.fsmonitor", str(script)), ("filter.evil.smudge", str(script)),
                       ("filter.evil.process", str(script)), ("core.pager", str(script)),
                       ("log.showSignature", "true"), ("gpg.program", str(script)),
                       ("core.sshCommand", str(script))):
        git("config", key, value, cwd=root)
    for hook in ("post-checkout", "reference-transaction", "post-index-change"):
        (root / ".git" / "hooks" / hook).symlink_to(script)
    assert not marker.exists()
    for source in (root, root.as_uri()):
        assert reasons(ingest(source, tmp_path)) == {".gitattributes": "unsupported_language",
                                                     "a.py": None}
    assert not marker.exists()


def test_directory_walk_records_links_and_special_files(tmp_path):
    root = tmp_path / "tree"
    write_files(root, {"pkg/mod.py": b"import os\n", "pkg/data.json": b"{}",
                       "big.py": b"#" * 2001, "vendor/dep/.git/config": b"[core]\n",
                       "vendor/dep/lib.rs": b"fn main() {}\n"})
    secret = tmp_path / "outside.py"
    secret.write_bytes(b"SECRET = 1\n")
    os.symlink(secret, root / "pkg" / "outside.py")
    os.symlink("../pkg", root / "vendor" / "loop")
    os.mkfifo(root / "pipe.sh")
    (root / os.fsdecode(b"bad\xffname.py")).write_bytes(b"x = 1\n")
    result = ingest(root, tmp_path)
    assert reasons(result) == {
        "bad\\xffname.py": "unsafe_path", "big.py": "too_large", "pipe.sh": SPECIAL_FILE,
        "pkg/data.json": None, "pkg/mod.py": None, "pkg/outside.py": "symlink",
        "vendor/dep/lib.rs": None, "vendor/loop": "symlink",
    }
    files = by_path(result)
    assert json.loads(files["pkg/outside.py"]["details"]) == {"target": str(secret)}
    assert all("SECRET" not in (record["content"] or "") for record in result.records)
    assert json.loads(files["pipe.sh"]["details"]) == {"file_type": "fifo"}
    assert files["pkg/mod.py"]["revision"] is None
    assert files["pkg/mod.py"]["blob_sha"] == git_blob_sha(b"import os\n")
    to_batch(result.records)


def add_tar_member(archive: tarfile.TarFile, name: str, data: bytes = b"", **fields) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if data else None)


def test_tarball_strips_top_directory_and_contains_malicious_members(tmp_path):
    path = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        add_tar_member(archive, "pkg-1.0", type=tarfile.DIRTYPE)
        add_tar_member(archive, "pkg-1.0/setup.py", b"from setuptools import setup\n")
        add_tar_member(archive, "pkg-1.0/dup.py", b"first = 1\n")
        add_tar_member(archive, "pkg-1.0/dup.py", b"second = 2\n")
        add_tar_member(archive, "../evil.py", b"evil = 1\n")
        add_tar_member(archive, "/etc/passwd", b"root:x:0:0\n")
        add_tar_member(archive, "C:/windows.py", b"w = 1\n")
        add_tar_member(archive, "pkg-1.0/link.py", type=tarfile.SYMTYPE, linkname="/etc/shadow")
        add_tar_member(archive, "pkg-1.0/hard.py", type=tarfile.LNKTYPE, linkname="/etc/shadow")
        add_tar_member(archive, "pkg-1.0/fifo", type=tarfile.FIFOTYPE)
        add_tar_member(archive, "pkg-1.0/tty", type=tarfile.CHRTYPE, devmajor=5, devminor=0)
        add_tar_member(archive, "pkg-1.0/big.py", b"#" * 2001)
    result = ingest(path, tmp_path)
    assert [(record["path"], record["reason"]) for record in result.records] == [
        ("../evil.py", "unsafe_path"), ("/etc/passwd", "unsafe_path"),
        ("C:/windows.py", "unsafe_path"), ("big.py", "too_large"), ("dup.py", "unsafe_path"),
        ("dup.py", None), ("fifo", SPECIAL_FILE), ("hard.py", "symlink"), ("link.py", "symlink"),
        ("setup.py", None), ("tty", SPECIAL_FILE),
    ]  # 11 non-directory members, 11 records
    details = [json.loads(record["details"] or "{}") for record in result.records]
    assert details[0] == {"problem": "parent directory traversal"}
    assert details[1] == {"problem": "absolute path"}
    assert details[2] == {"problem": "drive letter"}
    assert details[4] == {"problem": "a later member has the same path"}
    assert result.records[5]["content"] == "second = 2\n"
    assert details[7] == {"target": "/etc/shadow", "hardlink": True}
    assert details[8] == {"target": "/etc/shadow"}
    assert details[10] == {"file_type": "character device"}
    assert not (tmp_path / "etc").exists() and not (tmp_path / "evil.py").exists()
    to_batch(result.records)


def test_git_archive_tarball_and_zip_match_the_tree(repo, tmp_path):
    shas = tree_shas(repo)
    for fmt in ("tar.gz", "zip"):
        path = tmp_path / f"demo.{fmt}"
        git("archive", f"--format={fmt}", "--prefix=demo-main/", "-o", str(path), "HEAD", cwd=repo)
        result = ingest(path, tmp_path)
        expected = dict(EXPECTED_REASONS)
        del expected["vendor/sub"]  # archives hold no gitlink
        assert reasons(result) == expected, fmt  # and the prefix is stripped
        for record in result.records:
            if record["reason"] not in ("symlink", "too_large"):
                assert record["blob_sha"] == shas[record["path"]], (fmt, record["path"])
            assert record["revision"] is None
        assert json.loads(by_path(result)["link_out"]["details"]) == {"target": "/etc/passwd"}


def zip_bytes(members: list[tuple[str, bytes]], unix_modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (unix_modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def patched_zip(data: bytes, name: bytes, local: dict[int, int], central: dict[int, int]) -> bytes:
    """``data`` with 32-bit fields (offset: value) of ``name``'s local and central headers set."""
    out = bytearray(data)
    for signature, name_at, fields in ((b"PK\x03\x04", 30, local), (b"PK\x01\x02", 46, central)):
        at = data.find(signature)
        while at != -1:
            if data[at + name_at:at + name_at + len(name)] == name:
                for offset, value in fields.items():
                    struct.pack_into("<I", out, at + offset, value)
            at = data.find(signature, at + 4)
    return bytes(out)


def test_zip_with_traversal_links_a_lying_bomb_and_a_bad_crc(tmp_path):
    bomb = b"\0" * 50_000  # deflates to about 100 bytes
    raw = zip_bytes([("ok.py", b"ok = 1\n"), ("../escape.py", b"x = 1\n"),
                     ("/abs.py", b"x = 1\n"), ("C:\\drive.py", b"x = 1\n"),
                     ("link.py", b"/etc/passwd"), ("bomb.py", bomb), ("crc.py", b"crc = 1\n")],
                    unix_modes={"link.py": stat.S_IFLNK | 0o777})
    raw = patched_zip(raw, b"bomb.py", local={22: 100}, central={24: 100})  # declares 100 bytes
    crc = zipfile.ZipFile(io.BytesIO(raw)).getinfo("crc.py").CRC
    raw = patched_zip(raw, b"crc.py", local={14: crc ^ 1}, central={16: crc ^ 1})
    path = tmp_path / "evil.zip"
    path.write_bytes(raw)
    result = ingest(path, tmp_path)
    assert reasons(result) == {
        "../escape.py": "unsafe_path", "/abs.py": "unsafe_path", "C:\\drive.py": "unsafe_path",
        "bomb.py": "archive_limit", "crc.py": UNREADABLE, "link.py": "symlink", "ok.py": None,
    }  # 7 members, 7 records
    files = by_path(result)
    assert json.loads(files["bomb.py"]["details"]) == {"declared_size": 100,
                                                       "decompressed_size_over": 100}
    assert json.loads(files["link.py"]["details"]) == {"target": "/etc/passwd"}
    assert "CRC-32" in json.loads(files["crc.py"]["details"])["error"]
    assert files["ok.py"]["content"] == "ok = 1\n"


def test_archive_bounds_account_for_every_member_past_them(tmp_path):
    members = [(f"f{index}.py", b"x = %d\n" % index) for index in range(5)]
    path = tmp_path / "many.zip"
    path.write_bytes(zip_bytes(members))
    few_files = dataclasses.replace(CONFIG, max_archive_files=3)
    result = ingest(path, tmp_path, few_files)
    assert reasons(result) == {"f0.py": None, "f1.py": None, "f2.py": None,
                               "f3.py": "archive_limit", "f4.py": "archive_limit"}
    assert json.loads(by_path(result)["f4.py"]["details"]) == {"max_archive_files": 3,
                                                             "members_so_far": 5}
    # A member whose declared size passes the total bound: it and all later ones are out.
    big = [("a.py", b"a = 1\n"), ("bomb.py", b"\0" * 10_000), ("z.py", b"z = 1\n")]
    few_bytes = dataclasses.replace(CONFIG, max_archive_bytes=5_000)
    for suffix, write in (("zip", lambda p: p.write_bytes(zip_bytes(big))),
                          ("tar.gz", lambda p: write_tar(p, big))):
        path = tmp_path / f"bomb.{suffix}"
        write(path)
        result = ingest(path, tmp_path, few_bytes)
        assert reasons(result) == {"a.py": None, "bomb.py": "archive_limit",
                                   "z.py": "archive_limit"}, suffix
        assert json.loads(by_path(result)["bomb.py"]["details"]) == {
            "max_archive_bytes": 5_000, "declared_bytes_so_far": 10_006}


def write_tar(path: Path, members: list[tuple[str, bytes]]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members:
            add_tar_member(archive, name, data)


@pytest.mark.parametrize("source", ["missing/nowhere", "file:///nonexistent/repo.git",
                                    "broken.tar.gz", "corrupt.tar.gz", "broken.zip",
                                    "notes.txt", "empty"])
def test_unreadable_source_gives_one_repository_record(tmp_path, source):
    (tmp_path / "notes.txt").write_text("not an archive\n")
    write_tar(tmp_path / "ok.tar.gz", [("a.py", b"a = 1\n" * 200),
                                       ("b.txt", random.Random(1).randbytes(50_000).hex().encode())])
    whole = (tmp_path / "ok.tar.gz").read_bytes()
    (tmp_path / "broken.tar.gz").write_bytes(whole[:60])
    flipped = bytearray(whole)
    flipped[len(whole) - 6] ^= 0xFF  # the gzip trailer's CRC-32: only a checksum tells
    (tmp_path / "corrupt.tar.gz").write_bytes(bytes(flipped))
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "empty").mkdir()
    git("init", "-q", "-b", "main", cwd=tmp_path / "empty")  # no commit at HEAD
    if not source.startswith("file:"):
        source = str(tmp_path / source)
    result = ingest(source, tmp_path)
    assert result.license_files == {}
    (record,) = result.records
    assert (record["kind"], record["path"], record["reason"], record["stage"]) == (
        "repository", "", "source_unavailable", "ingest")
    assert record["id"] == record_id("repository", "demo/repo", "", "")
    assert json.loads(record["details"])["error"]
    assert "clone-" not in record["details"]  # no scratch path: output is deterministic
    assert ingest(source, tmp_path).records == result.records
    to_batch(result.records)


def test_one_failing_file_does_not_abort_the_repository(repo, tmp_path):
    def flaky(path: str) -> bool:
        if path == "README.md":
            raise RuntimeError("boom")
        return is_license_file(path)

    result = ingest_repository(RepoEntry("demo/repo", str(repo)), CONFIG, tmp_path, flaky)
    files = by_path(result)
    assert len(result.records) == len(EXPECTED_REASONS)
    assert files["README.md"]["reason"] == UNREADABLE
    assert json.loads(files["README.md"]["details"]) == {"error": "RuntimeError: boom"}
    assert files["src/main.py"]["reason"] is None


def test_decode():
    assert decode(b"x = 1\n", CONFIG) == ("x = 1\n", "utf-8")
    assert decode(b"\xef\xbb\xbfx\n", CONFIG) == ("x\n", "utf-8-sig")
    for text, codec in ((CP1252_TEXT, "cp1252"), (LATIN1_TEXT, "latin-1")):
        data = text.encode(codec)
        decoded, encoding = decode(data, CONFIG)
        assert decoded == text and decoded.encode(encoding) == data
    assert decode(UNDECODABLE, CONFIG) is None
    strict = dataclasses.replace(CONFIG, max_encoding_chaos=0.0)
    assert decode("é".encode("latin-1") + bytes(range(0x80, 0xa0)), strict) is None
    assert is_binary(b"ab\0", CONFIG)
    assert not is_binary(b"a" * CONFIG.binary_sniff_bytes + b"\0", CONFIG)


def test_languages():
    starcoderdata = set(
        "ada agda alloy antlr applescript assembly augeas awk batchfile bluespec c c-sharp "
        "clojure cmake coffeescript common-lisp cpp css cuda dart dockerfile elixir elm "
        "emacs-lisp erlang f-sharp fortran glsl go groovy haskell html idris isabelle java "
        "java-server-pages javascript json julia kotlin lean literate-agda literate-coffeescript "
        "literate-haskell lua makefile maple markdown mathematica matlab ocaml pascal perl php "
        "powershell prolog protocol-buffer python r racket restructuredtext rmarkdown ruby rust "
        "sas scala scheme shell smalltalk solidity sparql sql stan standard-ml stata "
        "systemverilog tcl tcsh tex thrift typescript verilog vhdl visual-basic xslt yacc yaml "
        "zig".split())
    assert LANGUAGES == starcoderdata | {"xml", "toml"}
    cases = {
        "a/b.py": "python", "X.PY": "python", "Dockerfile": "dockerfile",
        "ops/Dockerfile.prod": "dockerfile", "app.dockerfile": "dockerfile",
        "Makefile": "makefile", "GNUmakefile": "makefile", "makefile": "makefile",
        "rules.mk": "makefile", "CMakeLists.txt": "cmake", "config.cmake.in": "cmake",
        "notes.coffee.md": "literate-coffeescript", "README.md": "markdown",
        "pom.xml": "xml", "Cargo.toml": "toml", "x.hpp": "cpp", "x.h": "c",
        "main.rs": "rust", ".bashrc": "shell", "notes.txt": None, "LICENSE": None,
        "image.png": None, "archive.tar.gz": None,
    }
    assert {path: language_for(path) for path in cases} == cases
    assert [extension_of(path) for path in ("a/b.PY", "Makefile", ".bashrc", "a.tar.gz")] == [
        "py", "", "", "gz"]


def test_checked_path_and_redaction():
    assert checked_path("./a//b/./c.py") == ("a/b/c.py", None)
    assert checked_path("a/../../x")[1] == "parent directory traversal"
    assert checked_path("..\\x")[1] == "parent directory traversal"
    assert checked_path("a\\b.py") == ("a\\b.py", None)
    assert checked_path("c:x")[1] == "drive letter"
    assert checked_path(os.fsdecode(b"\xff")) == ("\\xff", "name is not valid UTF-8")
    assert checked_path("\ud800") == ("\\ud800", "name is not valid UTF-8")
    assert (redacted_source("https://user:token@example.org/o/r.git")
            == "https://example.org/o/r.git")
    assert redacted_source("git@example.org:o/r.git") == "git@example.org:o/r.git"
    with pytest.raises(SourceError, match="not a git URL"):
        with open_snapshot(__file__, CONFIG, Path("/nonexistent-scratch")):
            pass


def test_source_url_is_public_provenance_never_a_local_path():
    assert public_url(RepoEntry("a/b", "/home/me/cache/b-1.0.tar.gz")) is None
    assert public_url(RepoEntry("a/b", "file:///srv/b.git")) is None
    assert public_url(RepoEntry("a/b", "https://user:token@example.org/a/b.git")) == \
        "https://example.org/a/b.git"
    assert public_url(RepoEntry("a/b", "git@example.org:a/b.git")) == "git@example.org:a/b.git"
    assert public_url(RepoEntry("a/b", "/cache/b-1.0.tar.gz",
                                url="https://pypi.org/project/b/1.0/")) == \
        "https://pypi.org/project/b/1.0/"


def test_manifest(tmp_path):
    path = tmp_path / "repos.jsonl"
    path.write_text('# demo manifest\n\n'
                    '{"name": "a/b", "source": "https://example.org/a/b.git"}\n'
                    '{"name": "c-d/e.f_g", "source": "/data/e", "stars": 5, "forks": 2, '
                    '"license": "MIT", "url": "https://example.org/e/1.0/"}\n')
    assert read_manifest(path) == [
        RepoEntry("a/b", "https://example.org/a/b.git"),
        RepoEntry("c-d/e.f_g", "/data/e", 5, 2, "MIT", url="https://example.org/e/1.0/"),
    ]


@pytest.mark.parametrize("line, message", [
    ('{"name": "a/b", "source": "x"', "invalid JSON"),
    ('["a/b", "x"]', "expected a JSON object"),
    ('{"name": "a/b"}', "missing field 'source'"),
    ('{"name": "a/b", "source": ""}', "'source' must be a non-empty string"),
    ('{"name": 3, "source": "x"}', "'name' must be a non-empty string"),
    ('{"name": "ab", "source": "x"}', "not of the form owner/repo"),
    ('{"name": "a/b/c", "source": "x"}', "not of the form owner/repo"),
    ('{"name": "a/..", "source": "x"}', "not of the form owner/repo"),
    ('{"name": "a/b", "source": "x", "stars": "5"}', "'stars' must be a non-negative integer"),
    ('{"name": "a/b", "source": "x", "forks": true}', "'forks' must be a non-negative integer"),
    ('{"name": "a/b", "source": "x", "stars": -1}', "'stars' must be a non-negative integer"),
    ('{"name": "a/b", "source": "x", "license": 5}', "'license' must be null"),
    ('{"name": "a/b", "source": "x", "licence": "MIT"}', "unknown field(s) ['licence']"),
    ('{"name": "z/z", "source": "x"}', "duplicate name 'z/z' (first given on line 2)"),
    ('{"name": "a/b", "source": "x", "url": "/home/me/a.tar.gz"}', "'url' must be null or a"),
    ('{"name": "a/b", "source": "x", "url": "https://u:secret@h/a"}', "without credentials"),
])
def test_manifest_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "repos.jsonl"
    path.write_text(f'# header\n{{"name": "z/z", "source": "y"}}\n\n{line}\n')
    with pytest.raises(ManifestError) as raised:
        read_manifest(path)
    assert str(raised.value).startswith(f"{path}:4: ")
    assert message in str(raised.value)
