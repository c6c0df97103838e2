"""Artifact names are labels, never paths: traversal is impossible by construction."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopml

HOSTILE = [
    "../escape.txt",
    "../../../../../../tmp/loopml-escape.txt",
    "/etc/passwd",
    "/tmp/loopml-absolute.txt",
    "%2e%2e%2fencoded.txt",
    "..%2f..%2fencoded2.txt",
    "..\\..\\windows.txt",
    "C:\\Windows\\system32\\x.dll",
    "a/../../b.txt",
    "./././x",
    "sha256/aa/bb",
]


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_is_stored_by_digest_and_reads_back(
    workspace_env: str, project: Path, name: str
) -> None:
    outside_before = _files(project.parent)
    with loopml.start_run() as run:
        ref = run.log_artifact(f"content of {name}".encode(), name=name)
    created = _files(project.parent) - outside_before
    artifacts_root = project / ".loopml" / "artifacts"
    # The only new files are the blob (under its digest) and SQLite's own files.
    for path in created:
        assert path.is_relative_to(project / ".loopml"), path
    blob = artifacts_root / "sha256" / ref.digest[7:9] / ref.digest[9:]
    assert blob.is_file()
    assert not Path("/tmp/loopml-escape.txt").exists()
    assert not Path("/tmp/loopml-absolute.txt").exists()
    assert loopml.load_artifact(run.id, name) == f"content of {name}".encode()
    assert loopml.get_run(run.id).artifacts[name].digest == ref.digest


@pytest.mark.parametrize(
    "name",
    ["../escape.txt", "/etc/passwd", "..\\..\\windows.txt", "C:\\x.dll", "a/../../b.txt", "./x"],
)
def test_downloading_refuses_a_name_that_would_leave_the_folder(
    workspace_env: str, project: Path, name: str
) -> None:
    with loopml.start_run() as run:
        run.log_artifact(b"x", name=name)
    destination = project / "out"
    with pytest.raises(loopml.InvalidInputError, match="load_artifact"):
        loopml.download_artifacts(run.id, destination)
    assert not (project / "escape.txt").exists()
    assert _files(destination) == set()


def test_downloading_writes_ordinary_names_as_relative_paths(
    workspace_env: str, project: Path
) -> None:
    with loopml.start_run() as run:
        run.log_artifact(b"roc", name="plots/roc.png")
        run.log_artifact(b"%2e%2e", name="%2e%2e%2fliteral.txt")
    written = loopml.download_artifacts(run.id, project / "out")
    names = sorted(p.relative_to(project / "out").as_posix() for p in written)
    assert "plots/roc.png" in names
    assert "%2e%2e%2fliteral.txt" in names  # encoded names are never decoded into paths
    assert (project / "out" / "plots" / "roc.png").read_bytes() == b"roc"


def test_an_unknown_artifact_name_lists_the_ones_there_are(workspace_env: str) -> None:
    with loopml.start_run() as run:
        run.log_artifact(b"x", name="model.json")
    with pytest.raises(loopml.NotFoundError, match=r"model\.json"):
        loopml.load_artifact(run.id, "missing")


def test_a_corrupt_blob_is_an_error_never_silent(workspace_env: str, project: Path) -> None:
    with loopml.start_run() as run:
        ref = run.log_artifact(b"precious bytes", name="weights.bin")
        other = run.log_artifact(b"other bytes", name="other.bin")
    blob = project / ".loopml" / "artifacts" / "sha256" / ref.digest[7:9] / ref.digest[9:]
    blob.chmod(0o644)
    blob.write_bytes(b"tampered bytes")  # same size: only the hash can tell
    with pytest.raises(loopml.BlobCorruptError, match="restore it"):
        loopml.load_artifact(run.id, "weights.bin")
    with pytest.raises(loopml.BlobCorruptError, match="quarantine"):
        loopml.load_artifact(run.id, "weights.bin")  # still an error, never silent
    with loopml.start_run() as again:
        again.log_artifact(b"precious bytes", name="weights.bin")  # logging it again repairs
    assert loopml.load_artifact(run.id, "weights.bin") == b"precious bytes"
    gone = project / ".loopml" / "artifacts" / "sha256" / other.digest[7:9] / other.digest[9:]
    gone.unlink()
    with pytest.raises(loopml.BlobNotFoundError, match="missing"):
        loopml.load_artifact(run.id, "other.bin")
