"""WSGI entry point: `gunicorn wsgi:app`."""
from screener import create_app

app = create_app()
