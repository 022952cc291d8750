"""WSGI entry point: `gunicorn wsgi:app` (settings in gunicorn.conf.py)."""
from screener import create_app

app = create_app()
