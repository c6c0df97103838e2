"""Models: safe bundles, a registry with aliases and approvals, evaluation and gates."""
