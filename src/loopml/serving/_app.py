"""The prediction server: a plain ASGI application (no web framework on the hot path).

Routes, for every served model ``NAME`` (version ``V``):

* Open Inference Protocol (KServe V2): ``GET /v2/health/live``, ``/v2/health/ready``,
  ``/v2``, ``/v2/models/NAME[/versions/V]``, ``.../ready``; ``POST
  /v2/models/NAME[/versions/V]/infer`` (JSON tensors or the binary extension).
* MLflow's scoring protocol: ``POST /invocations`` (the only model, or ``?model=NAME``),
  ``GET /ping``, ``/health``, ``/version``.

Inputs are checked against the model's signature before it runs; every bad request is a 4xx
with a message in the protocol's error format, a model that raises is a 500 with its message,
and the server keeps serving. A model is ready once it has loaded and answered its input
example.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from loopml._errors import InvalidInputError, LoopmlError
from loopml.serving._v2_codec import ProtocolError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 16 * 1024 * 1024
JSON = b"application/json"
#: Requests one worker lets wait or run per model; more are refused at once with 503.
MAX_IN_FLIGHT = 256
#: Seconds a prediction may take before the request is answered with 504.
PREDICT_TIMEOUT_S = 30.0
#: Rows one batched prediction may hold (1 turns batching off).
MAX_BATCH_SIZE = 64


GET_PATHS = (
    "/v2/health/live",
    "/v2/health/ready",
    "/v2",
    "/ping",
    "/health",
    "/version",
    "/metrics",
)


class HTTPError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        allow: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.allow = allow
        self.retry_after = retry_after


@dataclass
class ServedModel:
    """One loaded model version and what the protocols need to know about it."""

    name: str
    version: str
    loaded: Any  # loopml.models._loader.LoadedModel
    ready: bool = False
    error: str | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    #: The compiled numeric input check and the model it feeds (see ``_check``), if any.
    fast: Any = None
    fast_model: Any = None
    #: V2 metadata of the outputs (name, datatype, shape), learnt from the input example.
    output_meta: list[dict[str, Any]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.inputs]

    def warm_up(self) -> None:
        """Answer the input example once: readiness means the model really predicts."""
        example = self.loaded.input_example
        try:
            if example is not None:
                self._describe_outputs(example)
            self.ready = True
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return
        from loopml.serving._check import compile_fast

        compiled = compile_fast(self.loaded)
        if compiled is not None:
            self.fast, self.fast_model = compiled

    def _describe_outputs(self, example: Any) -> None:
        """Predict the input example; its outputs tell the metadata their types and shapes."""
        import numpy as np

        from loopml.serving._v2_codec import datatype_of

        described = []
        for name in ["predict"] + (["predict_proba"] if self.loaded.has_predict_proba else []):
            value = np.asarray(getattr(self.loaded, name)(example))
            shape = [-1, *value.shape[1:]]
            described.append({"name": name, "datatype": datatype_of(value), "shape": shape})
        self.output_meta = described

    @property
    def outputs(self) -> list[str]:
        return ["predict"] + (["predict_proba"] if self.loaded.has_predict_proba else [])

    def check_outputs(self, wanted: list[str]) -> list[str]:
        unknown = [w for w in wanted if w not in self.outputs]
        if unknown:
            raise HTTPError(
                400,
                f"unknown output(s) {', '.join(unknown)}; this model has {', '.join(self.outputs)}",
            )
        return wanted or ["predict"]


def load(uri: str, *, trusted: bool = False) -> ServedModel:
    """Load a model version (``models:/NAME/V``, ``models:/NAME@ALIAS`` or a bundle folder)."""
    from loopml.models._loader import load_model

    loaded = load_model(uri, trusted=trusted)
    signature = loaded.signature.to_dict() if loaded.signature is not None else {}
    served = ServedModel(
        name=loaded.name,
        version=str(loaded.version or 1),
        loaded=loaded,
        inputs=list(signature.get("inputs", [])),
    )
    served.warm_up()
    return served


# -- V2 inputs -> the model's input ----------------------------------------------------------
_V2_TYPES = {
    "float64": "FP64",
    "float32": "FP32",
    "float16": "FP16",
    "int64": "INT64",
    "int32": "INT32",
    "int16": "INT16",
    "int8": "INT8",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "bool": "BOOL",
}


def v2_datatype(dtype: str) -> str:
    return _V2_TYPES.get(dtype, "BYTES")


def frame_from_v2(served: ServedModel, tensors: list[Any]) -> Any:
    """One input per column (by name), or one 2-D input with a column per signature input."""
    import numpy as np
    import pandas as pd

    columns = served.columns
    if not columns:  # no signature: one tensor, as it came
        if len(tensors) != 1:
            raise HTTPError(400, "this model takes one input tensor")
        return tensors[0].array
    by_name = {t.name: t for t in tensors}
    if len(tensors) == 1 and tensors[0].name not in columns:
        array = tensors[0].array
        if array.ndim != 2 or array.shape[1] != len(columns):
            raise HTTPError(
                400,
                f"input {tensors[0].name!r} has shape {list(array.shape)}; send one input per "
                f"column ({', '.join(columns)}) or one of shape [rows, {len(columns)}]",
            )
        return pd.DataFrame(array, columns=columns)
    missing = [c for c in columns if c not in by_name]
    extra = sorted(set(by_name) - set(columns))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing input(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unknown input(s) {', '.join(extra)}")
        raise HTTPError(400, f"{'; '.join(parts)}; the model takes {', '.join(columns)}")
    data = {}
    rows = None
    for column in columns:
        array = by_name[column].array
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise HTTPError(
                400, f"input {column!r} has shape {list(array.shape)}; a column is [rows]"
            )
        if rows is not None and len(array) != rows:
            raise HTTPError(400, f"input {column!r} has {len(array)} rows, others {rows}")
        rows = len(array)
        if array.dtype == object:
            try:
                array = np.asarray([v.decode() if isinstance(v, bytes) else v for v in array])
            except UnicodeDecodeError:
                raise HTTPError(400, f"input {column!r}: BYTES values must be UTF-8 text") from None
        data[column] = array
    return pd.DataFrame(data)


def predict_outputs(served: ServedModel, data: Any, wanted: list[str]) -> dict[str, Any]:
    """The model's outputs by name: ``predict`` and, for classifiers, ``predict_proba``."""
    import numpy as np

    outputs = {}
    for name in served.check_outputs(wanted):
        method = getattr(served.loaded, name)
        outputs[name] = np.asarray(method(data))
    return outputs


# -- the application ------------------------------------------------------------------------
class Server:
    """The ASGI app for some served models; ``await server(scope, receive, send)``."""

    def __init__(
        self,
        models: list[ServedModel],
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        timeout_s: float = PREDICT_TIMEOUT_S,
        trusted: bool = False,
        state_file: Any = None,
        max_batch_size: int = MAX_BATCH_SIZE,
        max_batch_wait_s: float = 0.0,
        prediction_log: Any = None,
        workspace: Any = None,
    ) -> None:
        self.prediction_log = prediction_log  # a _predlog.PredictionLog, or None (off)
        self.workspace = workspace  # for feedback; None serves bundle folders without one
        self.max_batch_size = max_batch_size
        self.max_batch_wait_s = max_batch_wait_s
        self.batchers: dict[int, Any] = {}
        self.models: dict[str, dict[str, ServedModel]] = {}
        self.latest: dict[str, ServedModel] = {}
        for served in models:
            self.add(served)
        self.started = time.time()
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self.in_flight: dict[str, int] = {}
        self.trusted = trusted
        self.state_file = state_file
        self.desired: dict[str, str] = {}
        self._swap_lock = asyncio.Lock()
        from loopml.serving._metrics import Metrics

        self.metrics = Metrics()
        for versions in self.models.values():
            for served in versions.values():
                self.metrics.loaded.labels(served.name, served.version).set(int(served.ready))

    def _batcher(self, served: ServedModel) -> Any:
        batcher = self.batchers.get(id(served))
        if batcher is None:
            from loopml.serving._batch import Batcher

            histogram = self.metrics.batch_size.labels(served.name, served.version)
            batcher = Batcher(
                served.fast_model,
                name=served.name,
                proba=served.loaded.has_predict_proba,
                max_batch_size=self.max_batch_size,
                max_wait_s=self.max_batch_wait_s,
                observe=histogram.observe,
            )
            self.batchers[id(served)] = batcher
        return batcher

    async def _predict(
        self, served: ServedModel, data: Any, wanted: list[str], matrix: Any = None
    ) -> dict[str, Any]:
        """Every output computed (``predict`` always, then those in ``wanted``); the caller
        answers with those asked for. Predict off the event loop: a numeric ``matrix`` that
        passed the compiled check
        joins the model's batcher, anything else runs the general path in a thread. At most
        ``max_in_flight`` requests per model wait or run (more get 503 at once, so a flood
        cannot grow an unbounded queue), and one that takes longer than ``timeout_s`` is
        answered with 504 (its thread finishes on its own)."""
        wanted = served.check_outputs(wanted)
        key = f"{served.name}/{served.version}"
        if self.in_flight.get(key, 0) >= self.max_in_flight:
            raise HTTPError(
                503,
                f"model {served.name} is busy: {self.max_in_flight} request(s) waiting or "
                "running in this worker; retry later",
                retry_after=1,
            )
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        gauge = self.metrics.child(self.metrics.in_flight, served.name, served.version)
        gauge.inc()
        try:
            if matrix is not None:
                work = self._batcher(served).predict(matrix, "predict_proba" in wanted)
            else:
                # The log and the metrics want `predict` even when only probabilities are asked.
                compute = wanted if "predict" in wanted else ["predict", *wanted]
                work = asyncio.to_thread(predict_outputs, served, data, compute)
            outputs: dict[str, Any] = await asyncio.wait_for(work, self.timeout_s)
        except TimeoutError:
            raise HTTPError(
                504, f"model {served.name} took longer than {self.timeout_s:g} s to predict"
            ) from None
        finally:
            self.in_flight[key] -= 1
            gauge.dec()
        first = outputs.get("predict")
        if first is not None:
            classifier = bool(served.loaded.has_predict_proba)
            self.metrics.predicted(served.name, served.version, first, classifier)
        return outputs

    def close(self) -> None:
        """Stop the batchers and write out the prediction log (SIGTERM, lifespan shutdown)."""
        for batcher in self.batchers.values():
            batcher.close()
        if self.prediction_log is not None:
            self.prediction_log.close()

    async def _log(
        self,
        served: ServedModel,
        request_id: str,
        protocol: str,
        inputs: Any,
        outputs: dict[str, Any],
        scope: Scope,
    ) -> None:
        """Append one answered request to the prediction log; in sync mode wait until it is
        on disk (and refuse to answer if it cannot be)."""
        plog = self.prediction_log
        if plog is None or inputs is None:
            return
        plog.start()
        latency = time.perf_counter() - scope.get("loopml.started", time.perf_counter())
        columns = [(c["name"], c["type"]) for c in served.inputs]
        waiter = plog.record(
            served.name, served.version, columns, request_id, protocol, inputs, outputs, latency
        )
        if waiter is not None:
            try:
                await asyncio.wait_for(waiter, self.timeout_s)
            except TimeoutError:
                raise HTTPError(
                    503,
                    f"the prediction log did not write within {self.timeout_s:g} s; in sync "
                    "mode no prediction is answered unless it is logged",
                    retry_after=1,
                ) from None
            except Exception as exc:
                raise HTTPError(
                    503,
                    f"the prediction log cannot write ({exc}); in sync mode no prediction is "
                    "answered unless it is logged",
                    retry_after=1,
                ) from None

    def add(self, served: ServedModel) -> None:
        """Serve ``served`` beside the versions already served, and make it the default."""
        self.models.setdefault(served.name, {})[served.version] = served
        self.latest[served.name] = served  # one assignment: requests see old or new, never none

    def _model(self, name: str, version: str | None) -> ServedModel:
        versions = self.models.get(name)
        if versions is None:
            raise HTTPError(404, f"no model named {name!r}; served: {', '.join(self.models)}")
        if version is None:
            return self.latest[name]
        if version not in versions:
            raise HTTPError(
                404,
                f"model {name!r} has no served version {version!r}; served: {', '.join(versions)}",
            )
        return versions[version]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        mlflow = not path.startswith("/v2")
        started = time.perf_counter()
        scope["loopml.model"] = None  # the infer handlers fill in (name, version, protocol)
        scope["loopml.started"] = started
        content_type = JSON
        try:
            status, body, headers = await self._route(method, path, scope, receive)
            if path == "/metrics":
                content_type = b"text/plain; version=0.0.4; charset=utf-8"
        except HTTPError as exc:
            status, body, headers = exc.status, _error(exc.message, mlflow, exc.status), []
            if exc.allow:
                headers = [(b"allow", exc.allow.encode())]
            if exc.retry_after is not None:
                headers = [(b"retry-after", str(exc.retry_after).encode())]
        except ProtocolError as exc:
            status, body, headers = 400, _error(str(exc), mlflow, 400), []
        except InvalidInputError as exc:  # the signature refused the input
            status, body, headers = 400, _error(str(exc), mlflow, 400), []
        except Exception as exc:  # the model itself failed: say so, keep serving
            message = f"the model failed: {type(exc).__name__}: {exc}"
            status, body, headers = 500, _error(message, mlflow, 500), []
        served = scope["loopml.model"]
        if served is not None:
            name, version, protocol = served
            metrics = self.metrics
            metrics.child(metrics.requests, name, version, protocol, str(status)).inc()
            metrics.child(metrics.latency, name, version, protocol).observe(
                time.perf_counter() - started
            )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _route(
        self, method: str, path: str, scope: Scope, receive: Receive
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        import orjson

        parts = [p for p in path.split("/") if p]
        if method == "GET":
            if path == "/v2/health/live":
                return 200, b'{"live":true}', []
            if path in ("/ping", "/health"):
                return 200, b"{}", []
            if path == "/v2/health/ready":
                ready = all(m.ready for v in self.models.values() for m in v.values())
                return (200 if ready else 503), orjson.dumps({"live": True, "ready": ready}), []
            if path == "/v2":
                from loopml._version import __version__

                doc = {
                    "name": "loopml",
                    "version": __version__,
                    "extensions": ["binary_tensor_data"],
                }
                return 200, orjson.dumps(doc), []
            if path == "/metrics":
                text, _ = self.metrics.render()
                return 200, text, []
            if path == "/version":
                from loopml._version import __version__

                return 200, orjson.dumps(__version__), []
            if len(parts) >= 3 and parts[:2] == ["v2", "models"]:
                name, version, rest = _model_path(parts)
                served = self._model(name, version)
                if rest == ["ready"]:
                    state = {"name": served.name, "ready": served.ready}
                    return (200 if served.ready else 503), orjson.dumps(state), []
                if rest == []:
                    return 200, orjson.dumps(self._metadata(served)), []
            if path == "/invocations" or (
                parts[:2] == ["v2", "models"] and parts[-1:] == ["infer"]
            ):
                raise HTTPError(405, f"{path} takes POST, not GET", allow="POST")
            raise HTTPError(404, f"no route GET {path}")
        if method == "POST":
            body = _decoded(await _body(receive), _header(scope, b"content-encoding"))
            if len(parts) == 4 and parts[:2] == ["v2", "models"] and parts[3] == "swap":
                return await self._swap_route(parts[2], body)
            if len(parts) == 4 and parts[:2] == ["v2", "models"] and parts[3] == "feedback":
                return await self._feedback_route(parts[2], body)
            if len(parts) >= 4 and parts[:2] == ["v2", "models"] and parts[-1] == "infer":
                name, version, rest = _model_path(parts)
                if rest != ["infer"]:
                    raise HTTPError(404, f"no route POST {path}")
                return await self._infer_v2(self._model(name, version), body, scope)
            if path == "/invocations":
                return await self._invocations(body, scope)
            model_get = parts[:2] == ["v2", "models"] and len(parts) >= 3
            if path in GET_PATHS or (model_get and _model_path(parts)[2] in ([], ["ready"])):
                raise HTTPError(405, f"{path} takes GET, not POST", allow="GET")
            raise HTTPError(404, f"no route POST {path}")
        raise HTTPError(405, f"method {method} is not allowed on {path}", allow="GET, POST")

    # -- hot swap ---------------------------------------------------------------------------
    async def _lifespan(self, receive: Receive, send: Send) -> None:
        watcher: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.prediction_log is not None:
                    self.prediction_log.start()
                if self.state_file is not None:
                    watcher = asyncio.create_task(self._watch_state())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if watcher is not None:
                    watcher.cancel()
                for batcher in self.batchers.values():
                    batcher.close()
                if self.prediction_log is not None:  # writes and fsyncs: off the loop
                    await asyncio.to_thread(self.prediction_log.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def swap(self, name: str, uri: str) -> ServedModel:
        """Load ``uri`` beside the served versions of ``name`` (it must answer its input
        example), then make it the default in one assignment: requests in flight finish on
        the version they started with, and none fails. Other workers follow through the
        state file."""
        if name not in self.models:
            raise HTTPError(404, f"no model named {name!r}; served: {', '.join(self.models)}")
        async with self._swap_lock:
            served = await asyncio.to_thread(load, uri, trusted=self.trusted)
            if served.name != name:
                raise HTTPError(400, f"{uri} is model {served.name!r}, not {name!r}")
            if not served.ready:
                raise HTTPError(
                    400,
                    f"{uri} did not answer its input example: {served.error}; kept "
                    f"{name} v{self.latest[name].version}",
                )
            self.add(served)
            self.desired[name] = uri
            self.metrics.loaded.labels(served.name, served.version).set(1)
            if self.state_file is not None:
                await asyncio.to_thread(_write_state, self.state_file, self.desired)
            return served

    async def _watch_state(self) -> None:
        """Follow swaps made through other workers (the state file names the wanted URIs)."""
        seen: dict[str, str] = dict(self.desired)
        while True:
            await asyncio.sleep(0.5)
            try:
                wanted = await asyncio.to_thread(_read_state, self.state_file)
            except (OSError, ValueError):
                continue
            for name, uri in wanted.items():
                if name in self.models and seen.get(name) != uri:
                    seen[name] = uri
                    try:
                        await self.swap(name, uri)
                    except Exception as exc:  # keep serving what works; say why
                        import sys

                        print(
                            f"loopml serve: cannot follow the swap of {name} to {uri}: {exc}",
                            file=sys.stderr,
                        )

    def _metadata(self, served: ServedModel) -> dict[str, Any]:
        return {
            "name": served.name,
            "versions": sorted(self.models[served.name], key=lambda v: (len(v), v)),
            "platform": f"loopml-{served.loaded.flavor}",
            "inputs": [
                {"name": c["name"], "datatype": v2_datatype(c["type"]), "shape": [-1]}
                for c in served.inputs
            ],
            "outputs": served.output_meta
            or [{"name": name, "datatype": "BYTES", "shape": [-1]} for name in served.outputs],
        }

    async def _infer_v2(
        self, served: ServedModel, body: bytes, scope: Scope
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        from loopml.serving._v2_codec import decode_request, encode_response

        scope["loopml.model"] = (served.name, served.version, "v2")
        length = _header(scope, b"inference-header-content-length")
        if length is not None and not length.strip().isdigit():
            raise HTTPError(
                400, f"Inference-Header-Content-Length must be a byte count, not {length!r}"
            )
        request = decode_request(body, int(length) if length is not None else None)
        if not served.ready:
            raise HTTPError(503, f"model {served.name} is not ready: {served.error or 'loading'}")
        matrix = served.fast.from_v2(request.inputs) if served.fast is not None else None
        data = frame_from_v2(served, request.inputs) if matrix is None else None
        wanted = served.check_outputs([o["name"] for o in request.outputs])
        if request.id is not None and not _usable_id(request.id):
            raise HTTPError(
                400, "'id' must be printable text of at most 200 characters (it keys the log)"
            )
        computed = await self._predict(served, data, wanted, matrix)
        request_id = request.id or _request_id(scope)
        await self._log(
            served, request_id, "v2", matrix if matrix is not None else data, computed, scope
        )
        outputs = {name: computed[name] for name in wanted}  # in the order asked for
        binary = {
            o["name"] for o in request.outputs if (o.get("parameters") or {}).get("binary_data")
        }
        if request.parameters.get("binary_data_output"):
            binary = set(outputs)
        out, header_length = encode_response(
            served.name, served.version, request_id, outputs, binary=binary
        )
        headers = [(b"x-request-id", request_id.encode())]
        if header_length is not None:
            headers.append((b"inference-header-content-length", str(header_length).encode()))
        return 200, out, headers

    async def _feedback_route(
        self, name: str, body: bytes
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """``{"labels": [{"id": "req-1", "label": 1}, ...]}`` (or one ``{"id", "label"}``):
        the true outcomes of earlier predictions, joined to them for monitoring."""
        import orjson

        if name not in self.models:
            raise HTTPError(404, f"no model named {name!r}; served: {', '.join(self.models)}")
        if self.workspace is None:
            raise HTTPError(
                409, "this server has no workspace to keep labels in; serve from a project"
            )
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise HTTPError(400, f"the body is not valid JSON: {exc}") from None
        items = doc.get("labels") if isinstance(doc, dict) and "labels" in doc else [doc]
        example = '{"labels": [{"id": "<request id>", "label": 1}]}'
        if not isinstance(items, list) or not items:
            raise HTTPError(400, f"send {example}")
        pairs = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise HTTPError(400, f"each label needs a string 'id' and a 'label': {example}")
            if "label" not in item:
                raise HTTPError(400, f"label {item['id']!r} has no 'label' value: {example}")
            pairs.append((item["id"], item["label"]))
        store = self.workspace.store
        try:
            written = await asyncio.to_thread(
                store.add_prediction_labels, name, pairs, source="api"
            )
        except LoopmlError as exc:
            if isinstance(exc, InvalidInputError):
                raise
            raise HTTPError(503, f"cannot store the labels now: {exc}", retry_after=1) from None
        return 200, orjson.dumps({"model": name, "labelled": written}), []

    async def _swap_route(
        self, name: str, body: bytes
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        import orjson

        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("uri"), str):
            raise HTTPError(400, 'send {"uri": "models:/NAME/VERSION"} (or @ALIAS)')
        try:
            served = await self.swap(name, doc["uri"])
        except LoopmlError as exc:
            raise HTTPError(400, f"cannot swap {name} to {doc['uri']}: {exc}") from exc
        result = {"name": served.name, "version": served.version, "uri": doc["uri"]}
        return 200, orjson.dumps(result), []

    async def _invocations(
        self, body: bytes, scope: Scope
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        from loopml.serving._mlflow_codec import (
            decode_invocation,
            encode_predictions,
            is_csv,
            parse_json,
        )

        name = _query(scope, "model")
        if name is None:
            if len(self.models) != 1:
                raise HTTPError(
                    400, f"several models are served; add ?model=NAME ({', '.join(self.models)})"
                )
            name = next(iter(self.models))
        served = self._model(name, _query(scope, "version"))
        scope["loopml.model"] = (served.name, served.version, "mlflow")
        if not served.ready:
            raise HTTPError(503, f"model {served.name} is not ready: {served.error or 'loading'}")
        content_type = (_header(scope, b"content-type") or "application/json").lower()
        matrix = data = None
        if is_csv(content_type):
            data, _params = decode_invocation(body, content_type)
        else:
            doc = parse_json(body)
            if served.fast is not None:
                matrix = served.fast.from_split(doc)
            if matrix is None:
                data, _params = decode_invocation(body, content_type, doc)
        outputs = await self._predict(served, data, ["predict"], matrix)
        request_id = _request_id(scope)
        await self._log(
            served, request_id, "mlflow", matrix if matrix is not None else data, outputs, scope
        )
        headers = [(b"x-request-id", request_id.encode())]
        return 200, encode_predictions(outputs["predict"]), headers


_ID_PREFIX = ""
_ID_COUNTER = itertools.count()


def _usable_id(value: str) -> bool:
    """Short printable text: it goes into a header, the log and, with ``/<row>``, the labels."""
    return 0 < len(value) <= 200 and value.isprintable()


def _request_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` (if it is short, plain text), else a new id: 12 random
    hex digits per worker process, then a counter (unique without a uuid4 per request)."""
    global _ID_PREFIX
    given = _header(scope, b"x-request-id")
    if given and _usable_id(given):
        return given
    if not _ID_PREFIX:
        import secrets

        _ID_PREFIX = secrets.token_hex(6)
    return f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"


def _model_path(parts: list[str]) -> tuple[str, str | None, list[str]]:
    """``v2/models/NAME[/versions/V]/rest...`` -> (NAME, V, rest)."""
    name = parts[2]
    if len(parts) >= 5 and parts[3] == "versions":
        return name, parts[4], parts[5:]
    return name, None, parts[3:]


def _header(scope: Scope, key: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == key:
            return bytes(value).decode("latin-1")
    return None


def _query(scope: Scope, key: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(key)
    return values[0] if values else None


async def _body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPError(413, f"the body is larger than {MAX_BODY // (1024 * 1024)} MB")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """The body without its ``Content-Encoding`` (gzip or deflate, as tritonclient sends with
    ``request_compression_algorithm``); decompressing stops at the body limit."""
    import zlib

    kind = (encoding or "identity").strip().lower()
    if kind in ("identity", ""):
        return body
    if kind not in ("gzip", "deflate", "x-gzip"):
        raise HTTPError(415, f"Content-Encoding {encoding!r} is not supported; use gzip or deflate")
    for wbits in (31,) if kind != "deflate" else (15, -15):
        decompressor = zlib.decompressobj(wbits)
        try:
            out = decompressor.decompress(body, MAX_BODY + 1)
        except zlib.error:
            continue
        if len(out) > MAX_BODY or decompressor.unconsumed_tail:
            raise HTTPError(
                413, f"the body is larger than {MAX_BODY // (1024 * 1024)} MB uncompressed"
            )
        return out
    raise HTTPError(400, f"the body is not valid {kind} data (Content-Encoding: {encoding})")


def _error(message: str, mlflow: bool, status: int) -> bytes:
    import orjson

    if mlflow:
        from loopml.serving._mlflow_codec import encode_error

        code = "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR"
        return encode_error(message, code)
    return orjson.dumps({"error": message})


def create_server(
    uris: list[str],
    *,
    trusted: bool = False,
    max_in_flight: int = MAX_IN_FLIGHT,
    timeout_s: float = PREDICT_TIMEOUT_S,
    state_file: Any = None,
    max_batch_size: int = MAX_BATCH_SIZE,
    max_batch_wait_ms: float = 0.0,
    prediction_log: str = "async",
    log_flush_s: float = 1.0,
) -> Server:
    """A server for the models ``uris`` (loaded now, each answering its example).

    ``state_file`` (set by ``loopml serve``) is where workers share the versions swapped in.
    ``prediction_log`` is ``async`` (written behind the requests, fsynced every
    ``log_flush_s``), ``sync`` (each answer waits until its rows are on disk) or ``off``.
    """
    from loopml.serving._predlog import MODES

    if prediction_log not in MODES:
        raise InvalidInputError(
            f"prediction_log must be one of {', '.join(MODES)}, not {prediction_log!r}"
        )
    if log_flush_s <= 0:
        raise InvalidInputError("log_flush_s must be above 0 (seconds between fsyncs)")
    if not uris:
        raise InvalidInputError("which models? e.g. loopml serve models:/fraud@champion")
    if max_in_flight < 1 or timeout_s <= 0:
        raise InvalidInputError("max_in_flight must be at least 1 and timeout_s above 0")
    if max_batch_size < 1 or max_batch_wait_ms < 0:
        raise InvalidInputError(
            "max_batch_size must be at least 1 (1 turns batching off) and max_batch_wait_ms "
            "0 or more"
        )
    models = [load(uri, trusted=trusted) for uri in uris]
    workspace = _find_workspace()
    plog = None
    if prediction_log != "off" and workspace is not None:
        plog = _prediction_log(workspace, prediction_log, log_flush_s)
    server = Server(
        models,
        max_in_flight=max_in_flight,
        timeout_s=timeout_s,
        trusted=trusted,
        state_file=state_file,
        max_batch_size=max_batch_size,
        max_batch_wait_s=max_batch_wait_ms / 1000,
        prediction_log=plog,
        workspace=workspace,
    )
    if plog is not None:
        plog.lost = lambda reason, rows: server.metrics.lost_rows.labels(reason).inc(rows)
    if state_file is not None:  # a worker starting after a swap serves what was swapped in
        try:
            wanted = _read_state(state_file)
        except (OSError, ValueError):
            wanted = {}
        for name, uri in wanted.items():
            if name in server.models:
                served = load(uri, trusted=trusted)
                if served.ready and served.name == name:
                    server.add(served)
                    server.desired[name] = uri
    return server


def _find_workspace() -> Any:
    """The project's workspace, if the server runs in one (bundle folders need none)."""
    from loopml._errors import WorkspaceNotFoundError
    from loopml._workspace import workspace

    try:
        return workspace()
    except WorkspaceNotFoundError:
        return None


def _prediction_log(workspace: Any, mode: str, flush_s: float) -> Any:
    from loopml.serving._predlog import LOG_DIRNAME, PredictionLog

    def publish(parquet: Any, model: str, version: str, rows: int, first: int, last: int) -> None:
        digest, _size = workspace.artifacts.put_file(parquet)
        workspace.store.add_prediction_segment(
            model, version, digest, rows, first, last, plog.source
        )

    plog = PredictionLog(
        workspace.settings.workspace_dir / LOG_DIRNAME, mode=mode, flush_s=flush_s, publish=publish
    )
    return plog


def _write_state(path: Any, desired: dict[str, str]) -> None:
    import json
    import os
    from pathlib import Path

    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(desired, sort_keys=True))
    temporary.replace(target)  # atomic: readers see the old or the new state


def _read_state(path: Any) -> dict[str, str]:
    import json
    from pathlib import Path

    doc = json.loads(Path(path).read_text())
    return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}
