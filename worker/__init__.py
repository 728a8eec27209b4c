"""The Celery application and its named tasks. A task is a few lines that call a use case."""
