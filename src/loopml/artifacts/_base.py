"""The artifact store interface: content-addressed, verified blobs.

A blob is stored under its own digest (``sha256:<64 hex>``) and nothing else: no user-supplied
name ever reaches a file system path, so path traversal is impossible by construction. Writes
are atomic (a temporary object renamed into place) and idempotent (the same content is stored
once). Every read re-hashes the content and raises :class:`BlobCorruptError` on a mismatch.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from loopml._errors import ArtifactError, BlobCorruptError, BlobNotFoundError, InvalidInputError

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
CHUNK = 1 << 20


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its digest, size in bytes and modification time (epoch seconds)."""

    digest: str
    size: int
    mtime: float


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a well-formed ``sha256:<hex>`` digest, else raise."""
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise InvalidInputError(
            f"{digest!r} is not a blob digest; digests look like sha256:<64 lowercase hex digits>"
        )
    return digest


def digest_bytes(data: bytes) -> str:
    """The digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def corrupt(digest: str, actual: str, where: str) -> BlobCorruptError:
    return BlobCorruptError(
        f"blob {digest} at {where} is corrupt: its content hashes to {actual}. It was modified "
        "or truncated outside loopml; restore it from a backup or log the artifact again "
        "(that replaces the damaged copy)"
    )


def missing(digest: str, store: str, quarantined: str | None) -> ArtifactError:
    """The error for a blob that is not where its digest says: corrupt earlier, or deleted."""
    if quarantined is not None:
        return BlobCorruptError(
            f"blob {digest} was found corrupt and moved to {quarantined}; restore it from a "
            "backup or log the artifact again (that stores a good copy)"
        )
    return BlobNotFoundError(
        f"blob {digest} is missing from the artifact store {store}; it was deleted outside "
        "loopml. Restore it from a backup or log the artifact again"
    )


class ArtifactStore(ABC):
    """Content-addressed blob storage."""

    url: str

    @abstractmethod
    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store the bytes read from ``stream``; return (digest, size)."""

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; return (digest, size). Storing the same bytes twice keeps one copy."""
        import io

        digest = digest_bytes(data)
        if self.size_of(digest) == len(data):
            return digest, len(data)
        return self.put_stream(io.BytesIO(data))

    def put_file(self, path: Path) -> tuple[str, int]:
        """Store a file's content; return (digest, size)."""
        with Path(path).open("rb") as handle:
            return self.put_stream(handle)

    @abstractmethod
    def get_bytes(self, digest: str) -> bytes:
        """The verified content of a blob (BlobNotFoundError, BlobCorruptError)."""

    @abstractmethod
    def copy_to(self, digest: str, destination: Path) -> None:
        """Write a verified copy of a blob to ``destination`` (atomically)."""

    @abstractmethod
    def size_of(self, digest: str) -> int | None:
        """The stored size of a blob, or None if it is not stored."""

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """True if the blob is stored (without verifying it)."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove a blob (no error if it is already gone)."""

    @abstractmethod
    def list_blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob."""

    @abstractmethod
    def stale_temporaries(self, older_than: float) -> list[BlobInfo]:
        """Half-written temporary files (left by a crash) not modified since ``older_than``.

        ``digest`` holds the temporary file's name, not a digest.
        """

    @abstractmethod
    def remove_temporary(self, name: str) -> None:
        """Delete one temporary file listed by :meth:`stale_temporaries`."""

    def verify(self, digest: str) -> None:
        """Raise BlobNotFoundError or BlobCorruptError unless the blob is intact."""
        self.get_bytes(digest)
