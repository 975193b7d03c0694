"""Demo and benchmark data: master data as a CRM, an ERP and a PSA hold it.

    from mdm.demo.generator import DemoGenerator, SourceRow, customer_benchmark_rows

    g = DemoGenerator(n_customers=2000, seed=42)
    for row in g.source_rows():      # SourceRow(system, entity_type, source_id, data, truth_id, group_id)
        ...
    g.truth_pairs("customer")        # ((system, source_id), (system, source_id)) of the same company
    customer_benchmark_rows(n, seed) # flat dicts in canonical field names for the matching benchmark

Modules: ``generator`` (the stream), ``vocab`` (how each system spells
billing models, statuses and dates), ``taxids`` (check-digit-correct tax ids
and a python-stdnum reference validator), ``ids`` (source-id formats),
``data`` (word lists, cities, streets), ``export`` (CSV files; used by
``manage.py generate_demo``).
"""

__all__ = ["DemoGenerator", "SourceRow", "customer_benchmark_rows"]


def __getattr__(name):  # lazy, so importing mdm.demo.vocab stays cheap
    if name in __all__:
        from mdm.demo import generator

        return getattr(generator, name)
    raise AttributeError(name)
