"""MLflow: linking jobs to runs and reading their progress. No Textual. (Not built yet.)"""
