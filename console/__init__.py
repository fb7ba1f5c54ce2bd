"""kube-ml-console: a terminal operations console for machine learning on Kubernetes."""

__version__ = "0.1.0"
