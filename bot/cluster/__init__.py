"""The Kubernetes adapter: kubeconfig resolution, error translation and the read-only reader.

The only package that imports the kubernetes client (an import-linter contract); what it hands out is
`ClusterReader`, whose single fetch function can only send GET."""
