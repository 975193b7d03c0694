"""The filter backend: django-filter with the shared FilterSets, strict
about unknown parameters (400), aware of the page's own parameters."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend


class StrictFilterBackend(DjangoFilterBackend):
    """Passes the view's non-filter parameters (``cursor``, ``page_size``,
    ``ordering``, ``brief``, ``format``, ``as_of``…) through to the FilterSet
    so only truly unknown parameters are refused, and has it build only the
    filters the request names."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        kwargs["passthrough"] = tuple(getattr(view, "passthrough_params", ()))
        kwargs["only_given"] = True
        return kwargs
