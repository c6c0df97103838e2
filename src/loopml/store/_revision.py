"""The schema revision this loopml speaks (no SQLAlchemy import: read-only paths need it)."""

#: The newest revision in ``migrations/versions``; a test checks they agree.
HEAD_REVISION = "0007"
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
