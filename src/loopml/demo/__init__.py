"""The bundled demo: the whole loop that exists today, on a generated fraud dataset."""

from __future__ import annotations

from loopml.demo._data import fraud_transactions
from loopml.demo._run import DemoResult, run_demo

__all__ = ["DemoResult", "fraud_transactions", "run_demo"]
