"""Remediation's pure core: exact plans and their hash, and the approval policy as a state machine.
No I/O: the executor that writes to the cluster, and the store that keeps proposals, are adapters that
use these types (next steps of the remediation issue)."""
