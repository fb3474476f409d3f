"""The Slack adapter: the bolt app and its listeners, the HTTP server, and Block Kit rendering (pure, in
`blocks`). The only package that imports slack_bolt and slack_sdk (an import-linter contract). It renders
the same service results the console and the CLI render."""
