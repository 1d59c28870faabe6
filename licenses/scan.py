"""``curate licenses scan PATH...``: the licence of a file, a directory or an archive.

- a licence file: decided from that file alone;
- a directory: decided for its root from the licence files at its root;
- a ``.tar.gz``/``.tgz``/``.tar``/``.tar.bz2``/``.tar.xz``/``.zip`` archive: the same for
  the archive's root, after stripping a single top-level directory (as sdists and GitHub
  tarballs have). Members are read in memory, never extracted; links are never followed,
  and members with an absolute path or ``..`` are ignored.

Each path gives one dict: ``{"path", "license", "license_class", "files", "detections"}``,
where ``files`` lists the licence files the decision came from and ``detections`` every
licence file read, with ScanCode's raw expression (``detected``) or why it was not read
(``error``); or ``{"path", "error"}`` when the path cannot be read at all.
"""
from __future__ import annotations

import lzma
import os
import posixpath
import stat
import tarfile
import zipfile
import zlib

from licenses.detect import LicenseDetector, get_detector
from licenses.files import is_license_file
from licenses.resolve import decide_directory
from pipeline.config import LicenseConfig

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_ZIP_SUFFIXES = (".zip",)


class ScanError(Exception):
    """A path that cannot be scanned: the message says why."""


def _decode(data: bytes, where: str) -> str:
    if b"\0" in data[:8000]:
        raise ScanError(f"{where}: binary content")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Licence texts that are not UTF-8 are nearly always Latin-1 / cp1252.
        return data.decode("cp1252", errors="replace")


def _safe_member(name: str) -> str | None:
    """The member's POSIX path, or None for an absolute path or one with ``..``."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _strip_top_directory(paths: list[str]) -> dict[str, str]:
    """{member path: path relative to the archive's root}."""
    tops = {p.split("/", 1)[0] for p in paths}
    if len(tops) == 1 and all("/" in p for p in paths):
        return {p: p.split("/", 1)[1] for p in paths}
    return {p: p for p in paths}


def _root_license_members(names: list[str]) -> dict[str, str]:
    """{member name: root-relative path} of the licence files at the archive's root."""
    safe = {name: _safe_member(name) for name in names}
    relative = _strip_top_directory([p for p in safe.values() if p])
    return {
        name: relative[path] for name, path in safe.items()
        if path and "/" not in relative[path] and is_license_file(relative[path])
    }


def _read_tar(path: str, config: LicenseConfig) -> tuple[dict[str, str], dict[str, str]]:
    texts, errors = {}, {}
    with tarfile.open(path, "r:*") as archive:
        by_name = {m.name: m for m in archive.getmembers() if m.isfile()}
        for name, relative in _root_license_members(list(by_name)).items():
            member = by_name[name]
            if member.size > config.max_license_file_bytes:
                errors[relative] = f"larger than {config.max_license_file_bytes} bytes"
                continue
            try:
                texts[relative] = _decode(archive.extractfile(member).read(), relative)
            except ScanError as error:
                errors[relative] = str(error)
        # tarfile stops quietly at a damaged header; reading the compressed stream to its
        # end makes a damaged or truncated archive an error instead of a partial listing.
        while archive.fileobj.read(1 << 20):
            pass
    return texts, errors


def _is_zip_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _read_zip(path: str, config: LicenseConfig) -> tuple[dict[str, str], dict[str, str]]:
    texts, errors = {}, {}
    with zipfile.ZipFile(path) as archive:
        infos = {i.filename: i for i in archive.infolist()
                 if not i.is_dir() and not _is_zip_link(i)}
        for name, relative in _root_license_members(list(infos)).items():
            info = infos[name]
            if info.file_size > config.max_license_file_bytes:
                errors[relative] = f"larger than {config.max_license_file_bytes} bytes"
                continue
            try:
                texts[relative] = _decode(archive.read(info), relative)
            except ScanError as error:
                errors[relative] = str(error)
    return texts, errors


def _read_file(path: str, config: LicenseConfig) -> str:
    size = os.path.getsize(path)
    if size > config.max_license_file_bytes:
        raise ScanError(f"{path}: larger than {config.max_license_file_bytes} bytes")
    with open(path, "rb") as handle:
        return _decode(handle.read(), path)


def _read_directory(path: str, config: LicenseConfig) -> tuple[dict[str, str], dict[str, str]]:
    texts, errors = {}, {}
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and is_license_file(entry.name):
                try:
                    texts[entry.name] = _read_file(entry.path, config)
                except (ScanError, OSError) as error:
                    errors[entry.name] = str(error)
    return texts, errors


def read_license_files(path: str, config: LicenseConfig) -> tuple[dict[str, str], dict[str, str]]:
    """({relative path: text}, {relative path: error}) of the licence files ``path`` holds."""
    lowered = path.lower()
    if os.path.isdir(path):
        return _read_directory(path, config)
    if lowered.endswith(_ZIP_SUFFIXES):
        return _read_zip(path, config)
    if lowered.endswith(_TAR_SUFFIXES):
        return _read_tar(path, config)
    return {posixpath.basename(path): _read_file(path, config)}, {}


def scan_path(path: str, detector: LicenseDetector | None = None,
              config: LicenseConfig | None = None) -> dict:
    """The licence decision for one licence file, directory or archive (see module doc)."""
    config = config or LicenseConfig()
    try:
        texts, errors = read_license_files(path, config)
    except (OSError, ScanError, tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error,
            lzma.LZMAError) as error:
        return {"path": path, "error": f"{type(error).__name__}: {error}"}
    detector = detector or get_detector()
    detections = {name: detector.detect(text) for name, text in texts.items()}
    decision = decide_directory(detections, config)
    per_file = sorted(
        [{"path": name, "detected": detection.expression} for name, detection in detections.items()]
        + [{"path": name, "error": error} for name, error in errors.items()],
        key=lambda entry: entry["path"],
    )
    return {
        "path": path,
        "license": decision.expression,
        "license_class": decision.license_class,
        "files": list(decision.files),
        "detections": per_file,
    }
