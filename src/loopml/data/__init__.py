"""Phase 1, data: dataset versions, schemas, validation, profiles and drift (in progress).

Today: the canonical form of a table and its content id (:mod:`loopml.data._canonical`,
:mod:`loopml.data._content_id`). See ``docs/design/data-phase.md`` for the plan.
"""
