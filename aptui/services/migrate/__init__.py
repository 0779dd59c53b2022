"""The migration assistant: move hard-coded secrets into a secret manager, leave references.

``plan`` finds the secrets and writes a value-free plan; ``apply`` writes, verifies, rewrites and
re-verifies, journaled and resumable; ``rollback`` undoes it from the journal.
"""
