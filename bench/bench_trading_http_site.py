"""Settings for the HTTP benchmark's gunicorn: the project's settings plus a bare DRF create view.

Used only by bench/bench_trading_http.py (``--pythonpath bench``); throttling is off so the
benchmark measures the views, not the rate limiter.
"""

from cets.settings import *  # noqa: F403
from cets.settings import REST_FRAMEWORK

ROOT_URLCONF = "bench_trading_http_urls"
DEBUG = False
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
