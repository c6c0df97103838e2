"""``loopml gc``: find and delete blobs no run references, never the referenced ones."""

from __future__ import annotations

import os
import time

import pytest

import loopml
from tests.cli.conftest import Cli, Track


def backdate_every_blob(hours: float) -> None:
    """Make every stored blob look ``hours`` old, so only references protect it."""
    store = loopml.workspace().artifacts
    past = time.time() - hours * 3600
    for blob in store.list_blobs():
        os.utime(store.path_of(blob.digest), (past, past))  # type: ignore[attr-defined]


@pytest.fixture
def referenced(workspace_env: str, track: Track) -> tuple[str, bytes]:
    """A run with a model artifact; returns (run id, the artifact's content)."""
    content = b"model weights " * 100
    return track("e", "a", artifacts={"model.bin": content}), content


def orphan(data: bytes) -> str:
    """A blob in the artifact store that no run refers to (e.g. a crashed log_artifact)."""
    digest, _ = loopml.workspace().artifacts.put_bytes(data)
    return digest


def test_gc_without_delete_reports_unreferenced_blobs_and_deletes_nothing(
    cli: Cli, referenced: tuple[str, bytes]
) -> None:
    lost = orphan(b"nobody refers to me")
    backdate_every_blob(hours=2)
    before = sorted(b.digest for b in loopml.workspace().artifacts.list_blobs())
    result = cli("gc")
    assert result.code == 0, result.err
    assert "1 unreferenced" in result.out
    assert lost in result.out
    assert "dry run: nothing deleted" in result.out
    assert sorted(b.digest for b in loopml.workspace().artifacts.list_blobs()) == before


def test_gc_json_dry_run_lists_unreferenced_digests_and_sizes(
    cli: Cli, referenced: tuple[str, bytes]
) -> None:
    lost = orphan(b"12345")
    backdate_every_blob(hours=2)
    data = cli("gc", "--json").json()
    assert data["dry_run"] is True
    assert data["unreferenced"] == [{"digest": lost, "size": 5}]
    assert data["unreferenced_bytes"] == 5
    assert data["deleted_bytes"] == 0
    assert data["referenced"] == 2  # the model and the run's requirements.txt
    assert loopml.workspace().artifacts.exists(lost)


def test_gc_delete_removes_only_unreferenced_blobs(cli: Cli, referenced: tuple[str, bytes]) -> None:
    run_id, content = referenced
    lost = [orphan(b"orphan one"), orphan(b"orphan two")]
    backdate_every_blob(hours=2)
    result = cli("gc", "--delete", "--grace-hours", "0")
    assert result.code == 0, result.err
    assert "deleted 2 blobs" in result.out
    store = loopml.workspace().artifacts
    assert not any(store.exists(d) for d in lost)
    assert loopml.load_artifact(run_id, "model.bin") == content
    assert loopml.load_artifact(run_id, "loopml/requirements.txt")
    again = cli("gc", "--json").json()
    assert again["unreferenced"] == []
    assert again["referenced"] == 2


def test_gc_delete_json_reports_the_freed_bytes(cli: Cli, referenced: tuple[str, bytes]) -> None:
    orphan(b"x" * 1000)
    backdate_every_blob(hours=2)
    data = cli("gc", "--delete", "--grace-hours", "0", "--json").json()
    assert data["dry_run"] is False
    assert data["deleted_bytes"] == 1000


def test_gc_keeps_an_unreferenced_blob_younger_than_the_grace_period(
    cli: Cli, referenced: tuple[str, bytes]
) -> None:
    backdate_every_blob(hours=2)
    fresh = orphan(b"a run may be about to reference me")
    result = cli("gc", "--delete")  # default grace: one hour
    assert result.code == 0, result.err
    assert "1 too young to judge" in result.out
    assert loopml.workspace().artifacts.exists(fresh)
    data = cli("gc", "--delete", "--grace-hours", "1", "--json").json()
    assert data["kept_younger_than_grace"] == 1
    assert data["unreferenced"] == []
    assert loopml.workspace().artifacts.exists(fresh)


def test_gc_in_a_workspace_without_blobs_finds_nothing(cli: Cli, workspace_env: str) -> None:
    data = cli("gc", "--json").json()
    assert data["referenced"] == 0
    assert data["unreferenced"] == []


def test_gc_refuses_a_negative_grace_period(cli: Cli, workspace_env: str) -> None:
    result = cli("gc", "--delete", "--grace-hours", "-1")
    assert result.code == 2
    assert "Traceback" not in result.err


def test_gc_works_on_an_fsspec_artifact_store(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, track: Track
) -> None:
    import uuid

    url = f"memory://loopml-gc-{uuid.uuid4().hex}"
    monkeypatch.setenv("LOOPML_ARTIFACTS", url)
    assert cli("init").code == 0
    run_id = track("e", "a", artifacts={"model.bin": b"weights"})
    lost = orphan(b"an orphan in memory")
    store = loopml.workspace().artifacts
    assert store.url == url
    try:
        data = cli("gc", "--delete", "--grace-hours", "0", "--json").json()
        assert data["unreferenced"] == [{"digest": lost, "size": 19}]
        assert not store.exists(lost)
        assert loopml.load_artifact(run_id, "model.bin") == b"weights"
    finally:
        store.fs.rm(store.base, recursive=True)  # type: ignore[attr-defined]
