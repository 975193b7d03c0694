"""The REST API for downstream systems (``/api/v1/``; schema ``/api/schema/``,
interactive docs ``/api/docs/``).

- ``auth.py``        knox tokens of service accounts, who may read/write what, throttles
- ``filters.py``     django-filter backend, strict about unknown parameters (FilterSets: ``mdm/filtersets.py``)
- ``pagination.py``  keyset cursor pagination, stable under concurrent writes
- ``serializers.py`` explicit read serializers, the inbound record, and the fast list renderer
- ``renderers.py``   orjson rendering
- ``schema.py``      OpenAPI extensions (token scheme, anyOf list rows)
- ``views.py``       masters (list, detail, history, ``as_of``, approve), source records, xref, change feed
- ``urls.py``        routes

Tokens: ``python manage.py create_service_account <name> --system <code> [--entity customer …]
[--expires-days N] [--read-pending]``; revoke with ``python manage.py revoke_tokens <name>``.
Benchmarks: ``python manage.py bench_api --customers 100000`` (in-process) and ``python manage.py load_test``
(gunicorn and locust over HTTP; ``mdm/loadtest/``), both on PostgreSQL.
"""
