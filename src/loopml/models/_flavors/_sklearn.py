"""scikit-learn models (and anything skops can save) as skops files.

The trust decision is made here, when the model is saved: the types skops does not trust by
default are those of the live object the user handed over, so they are the ones this
version may load, and that list goes to the metadata store. Loading passes exactly that
list; a file changed afterwards to hold other types (``posix.system``) is refused before any
object is built, whatever the bundle's own files claim.
"""

from __future__ import annotations

from typing import Any

from loopml._errors import InvalidInputError
from loopml._heavy import import_paused
from loopml.models._flavors import module_is


class SklearnFlavor:
    name = "sklearn"
    format = "skops"
    filename = "model.skops"
    needs = {"scikit-learn", "skops", "numpy", "scipy"}

    def matches(self, model: Any) -> bool:
        return module_is(model, "sklearn") or (
            callable(getattr(model, "fit", None))
            and callable(getattr(model, "predict", None))
            and callable(getattr(model, "get_params", None))
        )

    def save(self, model: Any) -> tuple[bytes, list[str], dict[str, Any]]:
        import_paused("skops.io")
        import skops.io as sio

        try:
            data = sio.dumps(model)
        except Exception as exc:  # skops raises many kinds
            raise InvalidInputError(
                f"skops cannot save this {type(model).__name__} ({type(exc).__name__}: {exc}); "
                "log it with flavor='pyfunc' (cloudpickle; loading then needs trusted=True)"
            ) from exc
        data = _stable_zip(data)
        trusted = sorted(sio.get_untrusted_types(data=data))
        meta: dict[str, Any] = {"estimator": f"{type(model).__module__}.{type(model).__name__}"}
        classes = getattr(model, "classes_", None)
        if classes is not None:
            meta["classes"] = [c.item() if hasattr(c, "item") else c for c in classes]
        return data, trusted, meta

    def load(self, data: bytes, trusted: list[str], meta: dict[str, Any]) -> Any:
        import_paused("skops.io")  # about 75 ms faster than a plain import
        import skops.io as sio
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            return sio.loads(data, trusted=list(trusted))
        except UntrustedTypesFoundException as exc:
            found = sorted(set(sio.get_untrusted_types(data=data)) - set(trusted))
            raise InvalidInputError(
                f"the model file holds types this version was not logged with: {found}. "
                "Nothing was loaded. The file may have been tampered with; if you built it "
                "yourself, log the model again"
            ) from exc
        except Exception as exc:  # a corrupt or foreign file
            raise InvalidInputError(
                f"the model file is not a readable skops file ({type(exc).__name__}: {exc})"
            ) from exc


def _stable_zip(data: bytes) -> bytes:
    """The skops zip made reproducible: the same model gives the same bytes in any process.

    skops names array entries by ``id()`` of temporary objects, marks shared objects with
    their ``id()`` (``"__id__"``) and stamps entries with the time. Ids are renumbered in the
    order ``schema.json`` first mentions them, entries renamed ``0.npy``, ``1.npy``, ... the
    same way, and stored in that order with a fixed time.
    """
    import io
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    schema = source.read("schema.json").decode()
    others = [n for n in source.namelist() if n != "schema.json"]
    positions = {n: schema.find(f'"{n}"') for n in others}
    if any(p < 0 for p in positions.values()):
        return data  # a layout this code does not know: keep skops' bytes as they are
    ids: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        return f'"__id__": {ids.setdefault(match[1], str(len(ids) + 1))}'

    schema = re.sub(r'"__id__": (\d+)', renumber, schema)
    renamed = {}
    for i, old in enumerate(sorted(others, key=positions.__getitem__)):
        suffix = old[old.rfind(".") :] if "." in old else ""
        renamed[old] = f"{i}{suffix}"
        schema = schema.replace(f'"{old}"', f'"{renamed[old]}"')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as target:
        entries = [("schema.json", schema.encode())] + [
            (renamed[n], source.read(n)) for n in sorted(others, key=positions.__getitem__)
        ]
        for name, content in entries:
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return out.getvalue()
