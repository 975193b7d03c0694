"""The API load test (``python manage.py load_test``): the synthetic data
set it shares with ``bench_api`` (``dataset.py``), the gunicorn and locust
runs (``runner.py``) and the request mix (``locustfile.py``)."""
