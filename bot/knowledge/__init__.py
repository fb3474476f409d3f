"""The knowledge base's core: runbook parsing and checks, pasted-text normalisation, the three retrieval
signals, their fusion and the matcher that ranks and explains runbooks.

It reads runbook and JSON Lines files and computes; it never builds or opens index files (that is
`bot.index`), and never talks to a cluster, Slack, a database or the terminal."""
