"""Temporary files left by interrupted writes are found and removed, nothing else is."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from loopml.artifacts import ArtifactStore, open_artifact_store


@pytest.fixture(params=["local", "memory"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return open_artifact_store(str(tmp_path / "blobs"))
    return open_artifact_store(f"memory://loopml-{uuid.uuid4().hex}")


def _leave_temporary(blobs: ArtifactStore) -> None:
    from loopml.artifacts._fsspec import FsspecArtifactStore
    from loopml.artifacts._local import LocalArtifactStore

    if isinstance(blobs, LocalArtifactStore):
        (blobs.root / "tmp").mkdir(parents=True, exist_ok=True)
        leftover = blobs.root / "tmp" / "put-crashed"
        leftover.write_bytes(b"half a blob")
        old = time.time() - 7200
        os.utime(leftover, (old, old))
    else:
        assert isinstance(blobs, FsspecArtifactStore)
        blobs.fs.pipe_file(f"{blobs.base}/tmp/put-crashed", b"half a blob")


def test_a_leftover_temporary_file_is_listed_and_removed(blobs: ArtifactStore) -> None:
    digest, _ = blobs.put_bytes(b"a real blob")
    _leave_temporary(blobs)
    stale = blobs.stale_temporaries(time.time() + 1)
    assert [t.digest for t in stale] == ["put-crashed"]
    blobs.remove_temporary("put-crashed")
    assert blobs.stale_temporaries(time.time() + 1) == []
    assert blobs.get_bytes(digest) == b"a real blob"


def test_a_recent_temporary_file_is_not_stale(blobs: ArtifactStore) -> None:
    _leave_temporary(blobs)
    assert blobs.stale_temporaries(time.time() - 3 * 86400) == []


@pytest.mark.parametrize("name", ["../x", "", "..", "a/b"])
def test_removing_refuses_anything_but_a_plain_name(blobs: ArtifactStore, name: str) -> None:
    with pytest.raises(ValueError, match="not a temporary file name"):
        blobs.remove_temporary(name)
