"""gunicorn settings for the benchmark's servers: none (gunicorn's defaults, so no access log),
instead of the product's gunicorn.conf.py at the repository root, which gunicorn would read."""
