"""Blobs on any fsspec file system (S3, GCS, Azure, memory, ...): ``<url>/sha256/<2>/<62>``."""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from loopml._errors import ArtifactError
from loopml.artifacts._base import (
    CHUNK,
    ArtifactStore,
    BlobInfo,
    check_digest,
    corrupt,
    missing,
)


class FsspecArtifactStore(ArtifactStore):
    """Content-addressed blobs on an fsspec URL.

    Writes go to ``<url>/tmp/<uuid>`` and are moved into place, so a reader never sees a
    partial blob (on object stores the final PUT is atomic on its own).
    """

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url
        try:
            fs, path = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise ArtifactError(
                f"cannot open the artifact store {url!r}: {exc}. Install the fsspec plugin for "
                "that scheme (e.g. pip install s3fs for s3://) or fix LOOPML_ARTIFACTS"
            ) from exc
        self.fs: Any = fs
        self.base = path.rstrip("/")

    def _path(self, digest: str) -> str:
        hexdigest = check_digest(digest)[len("sha256:") :]
        return f"{self.base}/sha256/{hexdigest[:2]}/{hexdigest[2:]}"

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        hasher = hashlib.sha256()
        size = 0
        tmp = f"{self.base}/tmp/{uuid.uuid4().hex}"  # noqa: S108 - inside the store's own root
        self.fs.makedirs(f"{self.base}/tmp", exist_ok=True)  # noqa: S108
        try:
            with self.fs.open(tmp, "wb") as out:
                while chunk := stream.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            digest = "sha256:" + hasher.hexdigest()
            final = self._path(digest)
            if self.size_of(digest) == size:
                self.fs.rm(tmp)
            else:
                # New, or damaged (wrong size): the fresh copy replaces it.
                self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
                if self.fs.exists(final):
                    self.fs.rm(final)
                self.fs.mv(tmp, final)
        except BaseException:
            with contextlib.suppress(Exception):
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)
            raise
        return digest, size

    def size_of(self, digest: str) -> int | None:
        path = self._path(digest)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        return int(info.get("size") or 0)

    def get_bytes(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            data: bytes = self.fs.cat_file(path)
        except FileNotFoundError:
            quarantined = sorted(self.fs.glob(f"{self.base}/quarantine/{digest[7:]}.*"))
            aside = str(quarantined[-1]) if quarantined else None
            raise missing(digest, self.url, aside) from None
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            aside = f"{self.base}/quarantine/{digest[7:]}.{int(time.time())}"
            where = path
            with contextlib.suppress(Exception):
                self.fs.makedirs(f"{self.base}/quarantine", exist_ok=True)
                self.fs.mv(path, aside)
                where = f"{path} (moved to {aside})"
            raise corrupt(digest, actual, where)
        return data

    def copy_to(self, digest: str, destination: Path) -> None:
        data = self.get_bytes(digest)
        destination = Path(destination)
        tmp = destination.with_name(f".loopml-{uuid.uuid4().hex}")
        tmp.write_bytes(data)
        tmp.replace(destination)

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))

    def delete(self, digest: str) -> None:
        path = self._path(digest)
        if self.fs.exists(path):
            self.fs.rm(path)

    def list_blobs(self) -> Iterator[BlobInfo]:
        root = f"{self.base}/sha256"
        if not self.fs.exists(root):
            return
        for info in self.fs.find(root, detail=True).values():
            parts = str(info["name"]).rstrip("/").split("/")
            digest = f"sha256:{parts[-2]}{parts[-1]}"
            try:
                check_digest(digest)
            except ValueError:
                continue
            mtime = info.get("mtime") or info.get("created") or 0.0
            if hasattr(mtime, "timestamp"):
                mtime = mtime.timestamp()
            yield BlobInfo(digest, int(info.get("size") or 0), float(mtime))

    def stale_temporaries(self, older_than: float) -> list[BlobInfo]:
        folder = f"{self.base}/tmp"  # noqa: S108 - inside the store's own root
        if not self.fs.exists(folder):
            return []
        found = []
        for info in self.fs.ls(folder, detail=True):
            mtime = info.get("mtime") or info.get("created") or 0.0
            if hasattr(mtime, "timestamp"):
                mtime = mtime.timestamp()
            if info.get("type") == "file" and float(mtime) < older_than:
                name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
                found.append(BlobInfo(name, int(info.get("size") or 0), float(mtime)))
        return found

    def remove_temporary(self, name: str) -> None:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"not a temporary file name: {name!r}")
        path = f"{self.base}/tmp/{name}"  # noqa: S108
        if self.fs.exists(path):
            self.fs.rm(path)
