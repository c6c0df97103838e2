"""The store's schemas and profiles: numbering, idempotence, first writer wins, gc, upgrades."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from loopml import InvalidInputError, NotFoundError, StoreError
from loopml.store import DatasetFile, SchemaRecord, Store, _migrate, open_store
from loopml.store._tables import dataset_versions, profiles, schemas
from tests.store._helpers import (
    FILE_DIGEST,
    connected,
    database_at,
    in_threads,
    insert_old_dataset_version,
    numbered_digest,
    register,
    upgrades_on_open,
    upgrades_on_request,
)

SCHEMA_A = "sha256:" + "a" * 64
SCHEMA_B = "sha256:" + "b" * 64
PROFILE_A = "sha256:" + "c" * 64
PROFILE_B = "sha256:" + "d" * 64
SPEC = "v1;kll800;hll14;cap1000"


# -- schemas --------------------------------------------------------------------------------------
def test_schema_versions_are_numbered_from_one_per_dataset(store: Store) -> None:
    register(store, "tx", 1)
    register(store, "other", 2)

    first = store.put_schema("tx", SCHEMA_A)
    second = store.put_schema("tx", SCHEMA_B)
    elsewhere = store.put_schema("other", SCHEMA_A)

    assert isinstance(first, SchemaRecord)
    assert (first.dataset, first.version, first.digest) == ("tx", 1, SCHEMA_A)
    assert (second.dataset, second.version, second.digest) == ("tx", 2, SCHEMA_B)
    assert (elsewhere.dataset, elsewhere.version) == ("other", 1)
    assert first.inferred_from is None
    assert first.created_at <= second.created_at
    assert abs(first.created_at - time.time() * 1000) < 60_000  # epoch milliseconds


def test_putting_the_latest_schema_digest_again_returns_the_existing_version(
    store: Store,
) -> None:
    register(store, "tx", 1)
    first = store.put_schema("tx", SCHEMA_A)

    again = store.put_schema("tx", SCHEMA_A)
    inferred_again = store.put_schema("tx", SCHEMA_A, inferred_from=1)

    assert again == first
    assert inferred_again == first  # the latest schema is kept as it was
    assert store.list_schemas("tx") == [first]


def test_a_digest_that_differs_from_the_latest_makes_a_new_version_even_if_older(
    store: Store,
) -> None:
    register(store, "tx", 1)
    store.put_schema("tx", SCHEMA_A)
    store.put_schema("tx", SCHEMA_B)

    back = store.put_schema("tx", SCHEMA_A)

    assert (back.version, back.digest) == (3, SCHEMA_A)
    assert [(s.version, s.digest) for s in store.list_schemas("tx")] == [
        (1, SCHEMA_A),
        (2, SCHEMA_B),
        (3, SCHEMA_A),
    ]


def test_the_dataset_version_a_schema_was_inferred_from_is_recorded(store: Store) -> None:
    register(store, "tx", 1)
    register(store, "tx", 2)

    from_first = store.put_schema("tx", SCHEMA_A, inferred_from=1)
    from_second = store.put_schema("tx", SCHEMA_B, inferred_from=2)

    assert from_first.inferred_from == 1
    assert from_second.inferred_from == 2
    assert store.get_schema("tx", 1).inferred_from == 1
    assert [s.inferred_from for s in store.list_schemas("tx")] == [1, 2]


def test_get_schema_returns_the_latest_or_the_numbered_version(store: Store) -> None:
    register(store, "tx", 1)
    first = store.put_schema("tx", SCHEMA_A)
    second = store.put_schema("tx", SCHEMA_B, inferred_from=1)

    assert store.get_schema("tx") == second
    assert store.get_schema("tx", 1) == first
    assert store.get_schema("tx", 2) == second


def test_list_schemas_gives_every_version_oldest_first(store: Store) -> None:
    register(store, "tx", 1)
    assert store.list_schemas("tx") == []

    made = [store.put_schema("tx", numbered_digest(n)) for n in range(1, 5)]

    assert store.list_schemas("tx") == made
    assert [s.version for s in made] == [1, 2, 3, 4]


def test_schemas_of_a_dataset_that_does_not_exist_are_not_found(store: Store) -> None:
    register(store, "tx", 1)

    with pytest.raises(NotFoundError, match="dataset 'missing' does not exist"):
        store.put_schema("missing", SCHEMA_A)
    with pytest.raises(NotFoundError, match="dataset 'missing' does not exist"):
        store.get_schema("missing")
    with pytest.raises(NotFoundError, match="dataset 'missing' does not exist"):
        store.list_schemas("missing")


def test_a_schema_inferred_from_a_missing_dataset_version_is_not_found_and_not_stored(
    store: Store,
) -> None:
    register(store, "tx", 1)
    register(store, "tx", 2)

    with pytest.raises(NotFoundError, match=r"'tx' has no version 7; it has versions 1 to 2"):
        store.put_schema("tx", SCHEMA_A, inferred_from=7)

    assert store.list_schemas("tx") == []


def test_get_schema_of_a_missing_version_names_the_versions_that_exist(store: Store) -> None:
    register(store, "tx", 1)
    with pytest.raises(NotFoundError, match="'tx' has no schema yet"):
        store.get_schema("tx")
    with pytest.raises(NotFoundError, match="'tx' has no schema yet"):
        store.get_schema("tx", 1)

    store.put_schema("tx", SCHEMA_A)
    with pytest.raises(NotFoundError, match=r"no schema version 2; its schemas are version 1$"):
        store.get_schema("tx", 2)
    store.put_schema("tx", SCHEMA_B)
    with pytest.raises(NotFoundError, match="no schema version 5; its schemas are versions 1 to 2"):
        store.get_schema("tx", 5)


@pytest.mark.parametrize("bad", ["sha256:abc", "not-a-digest", "SHA256:" + "a" * 64, None])
def test_a_schema_digest_that_is_not_a_blob_digest_is_an_invalid_input(
    store: Store, bad: object
) -> None:
    register(store, "tx", 1)
    with pytest.raises(InvalidInputError, match="not a blob digest"):
        store.put_schema("tx", bad)  # type: ignore[arg-type]
    assert store.list_schemas("tx") == []


@pytest.mark.parametrize("bad", [0, -1, True, "1"])
def test_a_schema_version_that_is_not_a_positive_integer_is_an_invalid_input(
    store: Store, bad: object
) -> None:
    register(store, "tx", 1)
    with pytest.raises(InvalidInputError, match="positive integer"):
        store.get_schema("tx", bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="positive integer"):
        store.put_schema("tx", SCHEMA_A, inferred_from=bad)  # type: ignore[arg-type]


def test_concurrent_new_schemas_never_share_a_version_number(store: Store) -> None:
    register(store, "tx", 1)

    made = in_threads(8, lambda i: store.put_schema("tx", numbered_digest(i + 1)))

    assert sorted(s.version for s in made) == list(range(1, 9))
    listed = store.list_schemas("tx")
    assert [s.version for s in listed] == list(range(1, 9))
    assert sorted(s.digest for s in listed) == sorted(numbered_digest(i + 1) for i in range(8))


def test_concurrent_puts_of_the_same_schema_make_one_version(store: Store) -> None:
    register(store, "tx", 1)

    made = in_threads(6, lambda _: store.put_schema("tx", SCHEMA_A, inferred_from=1))

    assert {(s.version, s.digest, s.inferred_from) for s in made} == {(1, SCHEMA_A, 1)}
    assert len(store.list_schemas("tx")) == 1


# -- profiles -------------------------------------------------------------------------------------
def test_the_first_profile_stored_for_a_version_and_spec_wins(store: Store) -> None:
    register(store, "tx", 1)

    first = store.put_profile("tx", 1, SPEC, PROFILE_A)
    second = store.put_profile("tx", 1, SPEC, PROFILE_B)

    assert first == PROFILE_A
    assert second == PROFILE_A  # tells the caller which profile is stored
    assert store.get_profile("tx", 1, SPEC) == PROFILE_A


def test_profiles_are_kept_per_dataset_version_and_per_spec(store: Store) -> None:
    register(store, "tx", 1)
    register(store, "tx", 2)

    store.put_profile("tx", 1, SPEC, PROFILE_A)
    store.put_profile("tx", 2, SPEC, PROFILE_B)
    store.put_profile("tx", 1, "v1;kll200;hll12;cap100", PROFILE_B)

    assert store.get_profile("tx", 1, SPEC) == PROFILE_A
    assert store.get_profile("tx", 2, SPEC) == PROFILE_B
    assert store.get_profile("tx", 1, "v1;kll200;hll12;cap100") == PROFILE_B


def test_get_profile_is_none_when_no_profile_is_stored(store: Store) -> None:
    register(store, "tx", 1)
    assert store.get_profile("tx", 1) is None
    assert store.get_profile("tx", 1, SPEC) is None

    store.put_profile("tx", 1, SPEC, PROFILE_A)
    assert store.get_profile("tx", 1, "v1;kll200;hll12;cap100") is None


def test_get_profile_without_a_spec_returns_the_newest_profile(store: Store) -> None:
    register(store, "tx", 1)
    store.put_profile("tx", 1, "v1;old", PROFILE_A)
    time.sleep(0.005)
    store.put_profile("tx", 1, "v1;new", PROFILE_B)

    assert store.get_profile("tx", 1) == PROFILE_B


def test_profiles_of_a_dataset_version_that_does_not_exist_are_not_found(store: Store) -> None:
    register(store, "tx", 1)

    with pytest.raises(NotFoundError, match="'tx' has no version 2; it has version 1"):
        store.put_profile("tx", 2, SPEC, PROFILE_A)
    with pytest.raises(NotFoundError, match="'tx' has no version 2"):
        store.get_profile("tx", 2)
    with pytest.raises(NotFoundError, match="dataset 'missing' does not exist"):
        store.put_profile("missing", 1, SPEC, PROFILE_A)
    with pytest.raises(NotFoundError, match="dataset 'missing' does not exist"):
        store.get_profile("missing", 1, SPEC)


def test_a_profile_spec_of_64_characters_is_accepted(store: Store) -> None:
    register(store, "tx", 1)
    spec = "v1;" + "x" * 61
    assert store.put_profile("tx", 1, spec, PROFILE_A) == PROFILE_A
    assert store.get_profile("tx", 1, spec) == PROFILE_A


@pytest.mark.parametrize("bad", ["v1;" + "x" * 62, "", None, 3])
def test_a_profile_spec_that_is_empty_or_longer_than_64_characters_is_an_invalid_input(
    store: Store, bad: object
) -> None:
    register(store, "tx", 1)
    with pytest.raises(InvalidInputError, match=r"profile spec .* at most 64 characters"):
        store.put_profile("tx", 1, bad, PROFILE_A)  # type: ignore[arg-type]
    assert store.get_profile("tx", 1) is None


def test_a_profile_digest_that_is_not_a_blob_digest_is_an_invalid_input(store: Store) -> None:
    register(store, "tx", 1)
    with pytest.raises(InvalidInputError, match="not a blob digest"):
        store.put_profile("tx", 1, SPEC, "sha256:short")


def test_concurrent_puts_of_a_profile_store_exactly_one_digest(store: Store) -> None:
    register(store, "tx", 1)

    stored = in_threads(6, lambda i: store.put_profile("tx", 1, SPEC, numbered_digest(i + 1)))

    assert len(set(stored)) == 1  # every writer is told the same winner
    assert store.get_profile("tx", 1, SPEC) == stored[0]


# -- housekeeping ---------------------------------------------------------------------------------
def test_gc_keeps_the_blobs_of_schemas_and_profiles(store: Store) -> None:
    register(store, "tx", 1)
    store.put_schema("tx", SCHEMA_A)
    store.put_schema("tx", SCHEMA_B)
    store.put_profile("tx", 1, SPEC, PROFILE_A)

    referenced = store.referenced_digests()

    assert {SCHEMA_A, SCHEMA_B, PROFILE_A, FILE_DIGEST} <= referenced
    assert PROFILE_B not in referenced


def test_removing_a_dataset_version_row_drops_its_profiles_and_unlinks_schemas(
    store: Store, store_uri: str
) -> None:
    # No Store method deletes dataset versions; this checks the foreign keys' ON DELETE rules
    # (CASCADE for profiles, SET NULL for schemas) that a future deletion relies on.
    register(store, "tx", 1)
    register(store, "tx", 2)
    store.put_schema("tx", SCHEMA_A, inferred_from=1)
    store.put_profile("tx", 1, SPEC, PROFILE_A)
    store.put_profile("tx", 2, SPEC, PROFILE_B)

    # SQLite enforces foreign keys only when told to: on a write connection.
    with connected(store_uri, write=True) as connection:
        with connection.begin():
            connection.execute(delete(dataset_versions).where(dataset_versions.c.version == 1))
        with connection.begin():
            remaining = connection.execute(select(profiles.c.digest)).scalars().all()
            inferred = connection.execute(select(schemas.c.inferred_from_pk)).scalars().all()

    assert remaining == [PROFILE_B]
    assert inferred == [None]
    schema = store.get_schema("tx")
    assert (schema.version, schema.digest, schema.inferred_from) == (1, SCHEMA_A, None)


def test_a_closed_store_refuses_schema_and_profile_calls(store_uri: str) -> None:
    opened = open_store(store_uri)
    register(opened, "tx", 1)
    opened.close()

    with pytest.raises(StoreError, match="was closed"):
        opened.put_schema("tx", SCHEMA_A)
    with pytest.raises(StoreError, match="was closed"):
        opened.get_schema("tx")
    with pytest.raises(StoreError, match="was closed"):
        opened.list_schemas("tx")
    with pytest.raises(StoreError, match="was closed"):
        opened.put_profile("tx", 1, SPEC, PROFILE_A)
    with pytest.raises(StoreError, match="was closed"):
        opened.get_profile("tx", 1)


# -- upgrades from revision 0002 ------------------------------------------------------------------
def _database_at_0002_with_a_dataset_version(uri: str) -> None:
    with database_at(uri, "0002") as connection:
        insert_old_dataset_version(connection, numbered_digest(1))


def _check_upgraded(store: Store, _uri: str) -> None:
    assert store.schema_status() == (_migrate.HEAD_REVISION, _migrate.HEAD_REVISION)
    kept = store.get_dataset_version("tx", 1)
    assert (kept.content_id, kept.row_count, kept.created_at) == (numbered_digest(1), 3, 2_000)
    assert kept.columns == [("a", "int64")]
    assert kept.files == [DatasetFile(0, FILE_DIGEST, 10, 3)]
    schema = store.put_schema("tx", SCHEMA_A, inferred_from=1)
    assert (schema.version, schema.inferred_from) == (1, 1)
    assert store.put_profile("tx", 1, SPEC, PROFILE_A) == PROFILE_A
    assert {FILE_DIGEST, SCHEMA_A, PROFILE_A} <= store.referenced_digests()


def test_a_sqlite_store_at_revision_0002_upgrades_on_open_and_keeps_its_datasets(
    tmp_path: Path,
) -> None:
    upgrades_on_open(tmp_path, _database_at_0002_with_a_dataset_version, _check_upgraded)


@pytest.mark.postgres
def test_a_postgresql_store_at_revision_0002_waits_for_db_upgrade_and_keeps_its_datasets(
    pg_uri: str,
) -> None:
    upgrades_on_request(pg_uri, "0002", _database_at_0002_with_a_dataset_version, _check_upgraded)
