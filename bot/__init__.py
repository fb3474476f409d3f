"""cnibot: a ChatOps bot for Kubernetes pod-network (CNI) incidents."""

__version__ = "0.1.0"
