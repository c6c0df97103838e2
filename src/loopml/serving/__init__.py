"""Serving: a prediction server for registry models (Open Inference Protocol, MLflow).

Importing this package only defines names.
"""
