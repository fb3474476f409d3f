"""The use cases, free of any front end: answer a paste, run probes for a request, evaluate the matcher.

The CLI, the console and (next) the Slack adapter call these and render the result objects they return;
nothing a user sees differs between front ends except the rendering. Services receive their adapters
(matcher, cluster) from the composition root, `bot.wiring`, and never build them."""
