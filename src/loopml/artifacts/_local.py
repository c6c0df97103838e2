"""Blobs in a local folder: ``<root>/sha256/<2 hex>/<62 hex>``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from loopml._errors import ArtifactError, BlobCorruptError
from loopml.artifacts._base import (
    CHUNK,
    ArtifactStore,
    BlobInfo,
    check_digest,
    corrupt,
    missing,
)


def _intact_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


class LocalArtifactStore(ArtifactStore):
    """A folder of content-addressed blobs; temporary files live in ``<root>/tmp``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        try:
            (self.root / "sha256").mkdir(parents=True, exist_ok=True)
            (self.root / "tmp").mkdir(exist_ok=True)
        except OSError as exc:
            raise ArtifactError(
                f"cannot create the artifact folder {self.root} ({exc.strerror}); check its "
                "permissions or set LOOPML_ARTIFACTS to a writable location"
            ) from exc
        self._ready = True

    def path_of(self, digest: str) -> Path:
        """Where a blob lives (derived from the digest alone)."""
        hexdigest = check_digest(digest)[len("sha256:") :]
        return self.root / "sha256" / hexdigest[:2] / hexdigest[2:]

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Like :meth:`put_stream`, but bytes already stored (at their full size) cost one
        hash and one stat, not a temporary file and an fsync: a run's requirements.txt, a
        model bundle logged again."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if _intact_size(self.path_of(digest), len(data)):
            return digest, len(data)
        return super().put_bytes(data)

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        self._prepare()
        hasher = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp", prefix="put-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = "sha256:" + hasher.hexdigest()
            final = self.path_of(digest)
            if _intact_size(final, size):
                tmp.unlink()
            else:
                # New, or damaged (wrong size): the fresh copy takes its place atomically.
                final.parent.mkdir(exist_ok=True)
                tmp.chmod(0o444)
                tmp.replace(final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return digest, size

    def _open(self, digest: str) -> BinaryIO:
        path = self.path_of(digest)
        try:
            return path.open("rb")
        except FileNotFoundError:
            quarantined = sorted((self.root / "quarantine").glob(f"{digest[7:]}.*"))
            aside = str(quarantined[-1]) if quarantined else None
            raise missing(digest, str(self.root), aside) from None

    def get_bytes(self, digest: str) -> bytes:
        with self._open(digest) as handle:
            data = handle.read()
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise self._quarantine(digest, actual)
        return data

    def _quarantine(self, digest: str, actual: str) -> BlobCorruptError:
        """Move a damaged blob aside (kept for inspection) so that logging it again repairs it."""
        path = self.path_of(digest)
        aside = self.root / "quarantine" / f"{digest[7:]}.{int(time.time())}"
        try:
            aside.parent.mkdir(exist_ok=True)
            path.replace(aside)
            where = f"{path} (moved to {aside})"
        except OSError:
            where = str(path)
        return corrupt(digest, actual, where)

    def copy_to(self, digest: str, destination: Path) -> None:
        destination = Path(destination)
        hasher = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=".loopml-")
        tmp = Path(tmp_name)
        try:
            with self._open(digest) as src, os.fdopen(fd, "wb") as out:
                while chunk := src.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
            actual = "sha256:" + hasher.hexdigest()
            if actual != digest:
                raise self._quarantine(digest, actual)
            tmp.replace(destination)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def size_of(self, digest: str) -> int | None:
        try:
            return self.path_of(digest).stat().st_size
        except FileNotFoundError:
            return None

    def exists(self, digest: str) -> bool:
        return self.path_of(digest).is_file()

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_of(digest).unlink()

    def list_blobs(self) -> Iterator[BlobInfo]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for prefix in sorted(base.iterdir()):
            if not prefix.is_dir() or len(prefix.name) != 2:
                continue
            for blob in sorted(prefix.iterdir()):
                digest = f"sha256:{prefix.name}{blob.name}"
                try:
                    stat = blob.stat()
                    yield BlobInfo(check_digest(digest), stat.st_size, stat.st_mtime)
                except (OSError, ValueError):
                    continue  # a stray file that is not a blob: leave it alone

    def stale_temporaries(self, older_than: float) -> list[BlobInfo]:
        folder = self.root / "tmp"
        if not folder.is_dir():
            return []
        found = []
        for path in folder.iterdir():
            try:
                stat = path.stat()
            except OSError:
                continue
            if path.is_file() and stat.st_mtime < older_than:
                found.append(BlobInfo(path.name, stat.st_size, stat.st_mtime))
        return found

    def remove_temporary(self, name: str) -> None:
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise ValueError(f"not a temporary file name: {name!r}")
        with contextlib.suppress(FileNotFoundError):
            (self.root / "tmp" / name).unlink()
