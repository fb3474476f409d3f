"""The Kubernetes adapter: kubeconfig resolution, error translation and the read-only reader.

Only `bot.cluster.reader` may talk to the kubernetes client on behalf of probes, and it only issues GET."""
