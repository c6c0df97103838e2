"""A closed store says so instead of quietly opening new connections."""

from __future__ import annotations

import pytest

from loopml import StoreError
from loopml.store import open_store


def test_a_closed_store_refuses_further_use(store_uri: str) -> None:
    store = open_store(store_uri)
    run = store.create_run("e")
    store.close()
    with pytest.raises(StoreError, match="was closed"):
        store.get_run(run.id)
    with pytest.raises(StoreError, match="was closed"):
        store.set_tags(run.id, {"a": "b"})
