"""The simulated Kubernetes cluster of the integration tier: see README.md."""
