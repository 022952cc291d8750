"""gunicorn's settings for the product, read by any `gunicorn wsgi:app` started in this folder
(scripts/serve, or by hand); command-line options override them.

The logger class writes `/d/…/` for every draft token, in the access log (request line, path,
query, Referer, any header) and the error log: a token is the only key to a client's answers.
"""
import os

wsgi_app = "wsgi:app"
bind = f"{os.environ.get('SCREENER_HOST', '127.0.0.1')}:{os.environ.get('SCREENER_PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A worker silent for this many seconds is killed, with the response it was sending. The CSV
# of the submission list streams only up to SCREENER_CSV_STREAM_ROWS rows (20,000 by default,
# 1 to 5 s), well inside it; a larger list is prepared in the background (README, Exports).
timeout = 30
logger_class = "screener.logs.GunicornLogger"
accesslog = "-"  # standard output; --access-logfile FILE writes a file instead
# No control socket: nothing to administer the server from outside its process group.
control_socket_disable = True
