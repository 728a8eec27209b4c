"""WSGI entry point for production servers: ``gunicorn lifecert.wsgi:app``."""

from lifecert.web import create_app

app = create_app()
