"""The artifact store: content-addressed blobs in a local folder or on any fsspec URL."""

from __future__ import annotations

from loopml.artifacts._base import (
    ArtifactStore,
    BlobInfo,
    check_digest,
    digest_bytes,
)

__all__ = [
    "ArtifactStore",
    "BlobInfo",
    "check_digest",
    "digest_bytes",
    "open_artifact_store",
]


def open_artifact_store(url: str) -> ArtifactStore:
    """A local folder path gives a :class:`LocalArtifactStore`; a URL with a scheme, fsspec."""
    if "://" in url:
        from loopml.artifacts._fsspec import FsspecArtifactStore

        return FsspecArtifactStore(url)
    from loopml.artifacts._local import LocalArtifactStore

    return LocalArtifactStore(url)
