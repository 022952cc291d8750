"""WSGI entry point: `gunicorn wsgi:app`."""
import gc

from screener import create_app

app = create_app()
# What exists now (modules, the questionnaire, translations, the template environment) lives as
# long as the process. Frozen, it is left out of the cycle collector's full collections, which
# then scan only what requests create; a preloading master's pages also stay shared with its
# workers (see gc.freeze).
gc.freeze()
