"""Phase 1, data: dataset versions, schemas, validation, profiles and drift.

Public entry points (exported from ``loopml``): :mod:`loopml.datasets`, ``loopml.profile``,
``loopml.infer_schema``, ``loopml.validate`` and ``loopml.drift``. How the modules fit is in
``docs/architecture.md``; the research behind them in ``docs/design/data-phase.md``.
"""
