"""One contract for every artifact store: content-addressed, deduplicated, verified blobs.

The same tests run over a :class:`LocalArtifactStore` folder, an fsspec ``memory://`` store and
an fsspec ``file://`` store. Each backend comes with a small "tamper" helper that reaches past
the store to damage or remove a blob's bytes the way a user or a failing disk would.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml._errors import BlobCorruptError, BlobNotFoundError, InvalidInputError
from loopml.artifacts import ArtifactStore
from loopml.artifacts._fsspec import FsspecArtifactStore
from loopml.artifacts._local import LocalArtifactStore

MALFORMED_DIGESTS = [
    "../etc",
    "../../etc/passwd",
    "sha256:XYZ",
    "sha256:" + "A" * 64,  # upper-case hex
    "sha256:" + "a" * 63,  # one digit short
    "sha256:" + "a" * 65,  # one digit long
    "sha256:../" + "a" * 61,
    "md5:" + "d41d8cd98f00b204e9800998ecf8427e",
    "a" * 64,  # no algorithm prefix
    "",
]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Backend:
    """An artifact store plus direct access to where it keeps its bytes."""

    kind: str
    store: ArtifactStore
    fs: Any  # an fsspec file system, or None for the local store
    base: str  # the store's root, as a local path or an fsspec path

    def blob_location(self, digest: str) -> str:
        hexdigest = digest.removeprefix("sha256:")
        return f"{self.base}/sha256/{hexdigest[:2]}/{hexdigest[2:]}"

    def overwrite_blob(self, digest: str, data: bytes) -> None:
        where = self.blob_location(digest)
        if self.fs is None:
            path = Path(where)
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
            path.write_bytes(data)
        else:
            self.fs.pipe_file(where, data)

    def remove_blob(self, digest: str) -> None:
        where = self.blob_location(digest)
        if self.fs is None:
            Path(where).unlink()
        else:
            self.fs.rm(where)

    def blob_is_stored(self, digest: str) -> bool:
        where = self.blob_location(digest)
        return Path(where).is_file() if self.fs is None else bool(self.fs.isfile(where))

    def blob_files(self) -> list[str]:
        """Every file under ``<root>/sha256``, seen directly (not through the store)."""
        root = f"{self.base}/sha256"
        if self.fs is None:
            return sorted(str(p) for p in Path(root).rglob("*") if p.is_file())
        if not self.fs.exists(root):
            return []
        return sorted(self.fs.find(root))

    def temp_entries(self) -> list[str]:
        """Whatever is left in ``<root>/tmp``, the folder puts write through."""
        root = f"{self.base}/tmp"
        if self.fs is None:
            return sorted(p.name for p in Path(root).iterdir()) if Path(root).is_dir() else []
        if not self.fs.exists(root):
            return []
        return sorted(self.fs.ls(root, detail=False))


@pytest.fixture(params=["local", "fsspec-memory", "fsspec-file"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        root = tmp_path / "blobs"
        yield Backend("local", LocalArtifactStore(root), None, str(root))
        # Blobs are read-only; make them removable so pytest can clean tmp_path up.
        for path in root.rglob("*"):
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    elif request.param == "fsspec-memory":
        store = FsspecArtifactStore(f"memory://loopml-test-{uuid.uuid4().hex}")
        yield Backend("fsspec-memory", store, store.fs, store.base)
        if store.fs.exists(store.base):
            store.fs.rm(store.base, recursive=True)
    else:
        root = tmp_path / "fsspec-blobs"
        root.mkdir()
        store = FsspecArtifactStore(f"file://{root}")
        yield Backend("fsspec-file", store, store.fs, store.base)


@pytest.fixture
def blobs(backend: Backend) -> ArtifactStore:
    return backend.store


class OneWayStream(io.RawIOBase):
    """A readable stream that cannot seek or tell its length (like a socket or a pipe)."""

    def __init__(self, data: bytes, chunk: int = 7) -> None:
        self._data = data
        self._pos = 0
        self._chunk = chunk

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._data)
        size = min(size, self._chunk)
        out = self._data[self._pos : self._pos + size]
        self._pos += len(out)
        return out


# -- writing ---------------------------------------------------------------------------------


def test_put_bytes_returns_the_sha256_digest_and_the_size(blobs: ArtifactStore) -> None:
    data = b"hello, blobs\n"
    assert blobs.put_bytes(data) == (sha(data), len(data))


def test_put_file_returns_the_digest_and_size_of_the_file_content(
    blobs: ArtifactStore, tmp_path: Path
) -> None:
    source = tmp_path / "model.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk
    source.write_bytes(data)
    assert blobs.put_file(source) == (sha(data), len(data))
    assert blobs.get_bytes(sha(data)) == data


def test_put_stream_reads_a_non_seekable_stream_to_the_end(blobs: ArtifactStore) -> None:
    data = b"streamed content that arrives in small pieces " * 11
    digest, size = blobs.put_stream(OneWayStream(data))  # type: ignore[arg-type]
    assert (digest, size) == (sha(data), len(data))
    assert blobs.get_bytes(digest) == data


def test_an_empty_blob_has_the_digest_of_empty_content(blobs: ArtifactStore) -> None:
    digest, size = blobs.put_bytes(b"")
    assert (digest, size) == (sha(b""), 0)
    assert blobs.get_bytes(digest) == b""


def test_the_same_content_is_stored_once(
    backend: Backend, blobs: ArtifactStore, tmp_path: Path
) -> None:
    data = b"same bytes every time"
    source = tmp_path / "same.txt"
    source.write_bytes(data)
    results = {
        blobs.put_bytes(data),
        blobs.put_bytes(data),
        blobs.put_file(source),
        blobs.put_stream(io.BytesIO(data)),
    }
    assert results == {(sha(data), len(data))}
    assert len(backend.blob_files()) == 1
    assert [b.digest for b in blobs.list_blobs()] == [sha(data)]


def test_blobs_are_stored_under_their_digest_and_nothing_else(
    backend: Backend, blobs: ArtifactStore
) -> None:
    digest, _ = blobs.put_bytes(b"where does it go?")
    assert backend.blob_is_stored(digest)
    assert backend.blob_files() == [backend.blob_location(digest)]


def test_no_temporary_files_are_left_after_puts(
    backend: Backend, blobs: ArtifactStore, tmp_path: Path
) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"file content")
    blobs.put_bytes(b"first")
    blobs.put_bytes(b"first")  # a duplicate: its temporary copy must go too
    blobs.put_file(source)
    blobs.put_stream(io.BytesIO(b"third"))
    assert backend.temp_entries() == []


def test_a_stream_that_fails_midway_leaves_no_blob_and_no_temporary_file(
    backend: Backend, blobs: ArtifactStore
) -> None:
    class Broken(io.RawIOBase):
        calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError("connection reset")
            return b"partial data"

    with pytest.raises(OSError, match="connection reset"):
        blobs.put_stream(Broken())  # type: ignore[arg-type]
    assert list(blobs.list_blobs()) == []
    assert backend.temp_entries() == []


# -- reading ---------------------------------------------------------------------------------


def test_get_bytes_returns_exactly_what_was_stored(blobs: ArtifactStore) -> None:
    data = bytes(range(256)) * 5
    digest, _ = blobs.put_bytes(data)
    assert blobs.get_bytes(digest) == data


def test_copy_to_writes_exactly_the_stored_content(blobs: ArtifactStore, tmp_path: Path) -> None:
    data = os.urandom(2 * 1024 * 1024 + 3)
    digest, _ = blobs.put_bytes(data)
    destination = tmp_path / "out" / "copy.bin"
    destination.parent.mkdir()
    blobs.copy_to(digest, destination)
    assert destination.read_bytes() == data
    assert sorted(p.name for p in destination.parent.iterdir()) == ["copy.bin"]


def test_copy_to_replaces_an_existing_destination_file(
    blobs: ArtifactStore, tmp_path: Path
) -> None:
    digest, _ = blobs.put_bytes(b"new content")
    destination = tmp_path / "existing.txt"
    destination.write_bytes(b"old content that is longer than the new one")
    blobs.copy_to(digest, destination)
    assert destination.read_bytes() == b"new content"


def test_exists_is_true_only_for_stored_blobs(blobs: ArtifactStore) -> None:
    digest, _ = blobs.put_bytes(b"present")
    assert blobs.exists(digest)
    assert not blobs.exists(sha(b"absent"))


def test_verify_passes_for_an_intact_blob(blobs: ArtifactStore) -> None:
    digest, _ = blobs.put_bytes(b"intact")
    blobs.verify(digest)


# -- damage ----------------------------------------------------------------------------------


def test_a_corrupted_blob_makes_get_bytes_raise_blob_corrupt_error(
    backend: Backend, blobs: ArtifactStore
) -> None:
    digest, _ = blobs.put_bytes(b"the original content")
    backend.overwrite_blob(digest, b"the tampered content")
    with pytest.raises(BlobCorruptError) as caught:
        blobs.get_bytes(digest)
    assert digest in str(caught.value)
    assert sha(b"the tampered content") in str(caught.value)
    with pytest.raises(BlobCorruptError):
        blobs.verify(digest)


def test_a_truncated_blob_is_reported_as_corrupt(backend: Backend, blobs: ArtifactStore) -> None:
    digest, _ = blobs.put_bytes(b"0123456789" * 100)
    backend.overwrite_blob(digest, b"0123456789")
    with pytest.raises(BlobCorruptError):
        blobs.get_bytes(digest)


def test_copy_to_of_a_corrupted_blob_raises_and_leaves_no_destination_file(
    backend: Backend, blobs: ArtifactStore, tmp_path: Path
) -> None:
    digest, _ = blobs.put_bytes(b"good bytes")
    backend.overwrite_blob(digest, b"bad bytes!")
    folder = tmp_path / "downloads"
    folder.mkdir()
    with pytest.raises(BlobCorruptError):
        blobs.copy_to(digest, folder / "model.bin")
    assert list(folder.iterdir()) == []  # neither the file nor a temporary copy


def test_copy_to_of_a_corrupted_blob_keeps_the_previous_destination_content(
    backend: Backend, blobs: ArtifactStore, tmp_path: Path
) -> None:
    digest, _ = blobs.put_bytes(b"good bytes")
    backend.overwrite_blob(digest, b"bad bytes!")
    destination = tmp_path / "model.bin"
    destination.write_bytes(b"previous download")
    with pytest.raises(BlobCorruptError):
        blobs.copy_to(digest, destination)
    assert destination.read_bytes() == b"previous download"


def test_logging_the_content_again_repairs_a_truncated_blob(
    backend: Backend, blobs: ArtifactStore, tmp_path: Path
) -> None:
    # BlobCorruptError's message tells the user to "log the artifact again"; that must work.
    data = b"0123456789" * 100
    digest, _ = blobs.put_bytes(data)
    backend.overwrite_blob(digest, data[:10])
    with pytest.raises(BlobCorruptError, match="log the artifact again"):
        blobs.get_bytes(digest)
    assert blobs.put_bytes(data) == (digest, len(data))
    assert blobs.get_bytes(digest) == data
    backend.overwrite_blob(digest, data[:10])
    source = tmp_path / "again.bin"
    source.write_bytes(data)
    assert blobs.put_file(source) == (digest, len(data))
    assert blobs.get_bytes(digest) == data


def test_a_deleted_blob_file_makes_reads_raise_blob_not_found_error(
    backend: Backend, blobs: ArtifactStore, tmp_path: Path
) -> None:
    digest, _ = blobs.put_bytes(b"soon gone")
    backend.remove_blob(digest)
    assert not blobs.exists(digest)
    with pytest.raises(BlobNotFoundError) as caught:
        blobs.get_bytes(digest)
    assert digest in str(caught.value)
    folder = tmp_path / "downloads"
    folder.mkdir()
    with pytest.raises(BlobNotFoundError):
        blobs.copy_to(digest, folder / "x.bin")
    assert list(folder.iterdir()) == []
    with pytest.raises(BlobNotFoundError):
        blobs.verify(digest)


def test_reading_a_digest_that_was_never_stored_raises_blob_not_found_error(
    blobs: ArtifactStore,
) -> None:
    with pytest.raises(BlobNotFoundError):
        blobs.get_bytes(sha(b"never stored"))


# -- listing and deleting --------------------------------------------------------------------


def test_list_blobs_is_empty_for_a_new_store(blobs: ArtifactStore) -> None:
    assert list(blobs.list_blobs()) == []


def test_list_blobs_lists_every_digest_with_its_size(blobs: ArtifactStore) -> None:
    contents = [b"", b"a", b"bb" * 1000, os.urandom(4096)]
    for data in contents:
        blobs.put_bytes(data)
    listed = {b.digest: b.size for b in blobs.list_blobs()}
    assert listed == {sha(d): len(d) for d in contents}


def test_list_blobs_reports_a_recent_modification_time(blobs: ArtifactStore) -> None:
    import time

    before = time.time()
    blobs.put_bytes(b"timed")
    (info,) = list(blobs.list_blobs())
    assert before - 5 <= info.mtime <= time.time() + 5


def test_list_blobs_ignores_stray_files_that_are_not_blobs(
    backend: Backend, blobs: ArtifactStore
) -> None:
    digest, _ = blobs.put_bytes(b"real blob")
    stray = f"{backend.base}/sha256/zz/not-a-blob"
    if backend.fs is None:
        Path(stray).parent.mkdir()
        Path(stray).write_bytes(b"junk")
    else:
        backend.fs.makedirs(stray.rsplit("/", 1)[0], exist_ok=True)
        backend.fs.pipe_file(stray, b"junk")
    assert [b.digest for b in blobs.list_blobs()] == [digest]


def test_delete_removes_a_blob_and_is_idempotent(backend: Backend, blobs: ArtifactStore) -> None:
    keep, _ = blobs.put_bytes(b"keep me")
    drop, _ = blobs.put_bytes(b"drop me")
    blobs.delete(drop)
    blobs.delete(drop)
    blobs.delete(sha(b"never stored at all"))
    assert not blobs.exists(drop)
    assert not backend.blob_is_stored(drop)
    assert [b.digest for b in blobs.list_blobs()] == [keep]
    assert blobs.get_bytes(keep) == b"keep me"


def test_a_deleted_blob_can_be_stored_again(blobs: ArtifactStore) -> None:
    digest, _ = blobs.put_bytes(b"phoenix")
    blobs.delete(digest)
    assert blobs.put_bytes(b"phoenix") == (digest, 7)
    assert blobs.get_bytes(digest) == b"phoenix"


# -- malformed digests -----------------------------------------------------------------------


@pytest.mark.parametrize("digest", MALFORMED_DIGESTS)
def test_malformed_digests_are_rejected_by_every_operation(
    blobs: ArtifactStore, digest: str, tmp_path: Path
) -> None:
    destination = tmp_path / "out.bin"
    with pytest.raises(InvalidInputError):
        blobs.get_bytes(digest)
    with pytest.raises(InvalidInputError):
        blobs.copy_to(digest, destination)
    with pytest.raises(InvalidInputError):
        blobs.exists(digest)
    with pytest.raises(InvalidInputError):
        blobs.delete(digest)
    with pytest.raises(InvalidInputError):
        blobs.verify(digest)
    assert not destination.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".loopml-")] == []


def test_a_malformed_digest_error_says_what_a_digest_looks_like(blobs: ArtifactStore) -> None:
    with pytest.raises(InvalidInputError, match=r"sha256:<64 lowercase hex digits>"):
        blobs.get_bytes("md5:d41d8cd98f00b204e9800998ecf8427e")


def test_a_malformed_digest_is_also_a_value_error(blobs: ArtifactStore) -> None:
    with pytest.raises(ValueError):
        blobs.get_bytes("../etc")


# -- property ----------------------------------------------------------------------------------


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=4096))
def test_any_bytes_get_their_sha256_digest_and_round_trip(
    blobs: ArtifactStore, data: bytes
) -> None:
    digest, size = blobs.put_bytes(data)
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert size == len(data)
    assert blobs.get_bytes(digest) == data
    assert blobs.exists(digest)
