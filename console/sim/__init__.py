"""The simulated GPU cluster: a real Kubernetes REST API over HTTPS on loopback. Imports nothing else of console/."""
