"""The knowledge base: runbook parsing and checks, pasted-text normalisation, retrieval and fusion.

Pure computation over runbook text and index files; never talks to Slack or a cluster."""
