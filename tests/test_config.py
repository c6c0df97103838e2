"""Settings: where the store and artifacts are, and clear errors for malformed settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml import ConfigError
from loopml.config import find_project_root, resolve_settings


def test_without_anything_the_current_folder_is_the_project(project: Path) -> None:
    settings = resolve_settings()
    assert settings.root == project
    assert settings.store_uri == f"sqlite:///{project / '.loopml' / 'loopml.db'}"
    assert settings.artifacts_uri == str(project / ".loopml" / "artifacts")
    assert settings.store_source == "workspace"


def test_the_workspace_is_found_by_walking_up_like_git(project: Path) -> None:
    (project / ".loopml").mkdir()
    deep = project / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == project
    assert resolve_settings(deep).root == project


def test_loopml_toml_points_to_another_store_relative_to_its_folder(project: Path) -> None:
    (project / "loopml.toml").write_text(
        '[store]\nuri = "sqlite:///data/meta.db"\nartifacts = "blobs"\n'
    )
    (project / "sub").mkdir()
    settings = resolve_settings(project / "sub")
    assert settings.store_uri == f"sqlite:///{project / 'data' / 'meta.db'}"
    assert settings.artifacts_uri == str(project / "blobs")
    assert settings.config_file == project / "loopml.toml"


def test_environment_variables_win_over_loopml_toml(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "loopml.toml").write_text('[store]\nuri = "sqlite:///x.db"\n')
    monkeypatch.setenv("LOOPML_URI", "postgresql://u:secret@db.example:5432/loop")
    monkeypatch.setenv("LOOPML_ARTIFACTS", "s3://bucket/prefix")
    settings = resolve_settings()
    assert settings.store_uri == "postgresql+psycopg://u:secret@db.example:5432/loop"
    assert settings.store_source == "LOOPML_URI"
    assert settings.artifacts_uri == "s3://bucket/prefix"


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("foo:/bar", "not a database URL"),
        ("not a url at all", "not a database URL"),
        ("mysql://root@localhost/db", "not supported"),
        ("postgresql+psycopg2://u@h/db", "psycopg"),
        ("postgresql://u@h:5432", "names no database"),
        ("sqlite://", "names no database file"),
        ("sqlite:///:memory:", "names no database file"),
        ("http://loopml.example", "team server"),
    ],
)
def test_a_malformed_loopml_uri_names_the_variable_and_an_example(
    uri: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPML_URI", uri)
    with pytest.raises(ConfigError) as info:
        resolve_settings()
    assert "LOOPML_URI" in str(info.value)
    assert words in str(info.value)


def test_invalid_toml_is_reported_with_the_file(project: Path) -> None:
    (project / "loopml.toml").write_text("[store\nuri=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_settings()


def test_an_unknown_store_key_is_reported(project: Path) -> None:
    (project / "loopml.toml").write_text('[store]\nurl = "sqlite:///x.db"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        resolve_settings()


def test_a_non_string_uri_in_toml_is_reported(project: Path) -> None:
    (project / "loopml.toml").write_text("[store]\nuri = 5\n")
    with pytest.raises(ConfigError, match="non-empty string"):
        resolve_settings()
