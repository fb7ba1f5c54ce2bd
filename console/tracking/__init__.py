"""MLflow: linking training jobs to their runs and reading their progress. No Textual.

`client` wraps the official MLflow client (imported lazily), `linking` holds the rules,
`progress` the derived figures and the stalled-progress signal, and `link` the
`TrackingLink` the app owns (a daemon thread refreshing every linked job at once)."""
