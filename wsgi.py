"""WSGI entry point: `gunicorn wsgi:app`."""
import gc

from screener import create_app

app = create_app()
# What exists now (modules, the questionnaire, translations, the template environment) lives as
# long as the process. Frozen, after one collection so that no start-up garbage is kept, it is
# left out of the cycle collector's full collections, which then scan only what requests
# create; the workers of a preloading master also copy fewer of the pages they share with it.
gc.collect()
gc.freeze()
