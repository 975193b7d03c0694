"""One FilterSet per golden model, shared by the REST API and the steward UI.

Every filter is a query-string parameter (``?country=GB,FR&updated_since=…``).
Foreign keys filter by golden id and by the referenced record's natural key
(``legal_entity`` / ``legal_entity_code``).  ``q`` is a free-text search over
names, identifiers, the golden id and any system's id for the record.

Unknown parameters are errors, not silently ignored: a typo such as
``?contry=GB`` must not answer the whole unfiltered table.  Parameters that
belong to the page rather than the filter (pagination, ordering, ``brief``,
the UI's ``page``/``sort``…) are declared by the caller::

    fs = CustomerFilterSet(request.GET, queryset=qs, passthrough=("page", "sort"))
    if not fs.is_valid():
        ...  # fs.errors maps each bad parameter to its messages
    records = fs.qs

The API passes its own pagination/format parameters through
``mdm.api.filters.StrictFilterBackend``.
"""

from __future__ import annotations

import uuid

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q

from mdm.choices import EntityType, LifecycleState
from mdm.models import Contract, CrossReference, Customer, LegalEntity, Project

__all__ = [
    "ContractFilterSet",
    "CustomerFilterSet",
    "FILTERSETS",
    "GoldenFilterSet",
    "LegalEntityFilterSet",
    "ProjectFilterSet",
    "filterset_for",
]


# --- filter building blocks --------------------------------------------------

class UUIDInFilter(django_filters.BaseInFilter, django_filters.UUIDFilter):
    """One or more golden ids, comma-separated."""


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """One or more values, comma-separated (``?country=GB,FR``)."""


class StrictFilterForm(forms.Form):
    """The filter form; adds an error per query parameter no filter knows."""

    unknown_params: tuple[str, ...] = ()

    known_filters: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        known = ", ".join(self.known_filters or sorted(self.fields))
        for name in self.unknown_params:
            # Keyed by the parameter name so the API answers {"contry": ["Unknown filter parameter…"]}.
            self._errors[name] = self.error_class([f"Unknown filter parameter '{name}'. Known filters: {known}."])
        return cleaned


def _xref_exists(entity_type: str, **lookups):
    return Exists(CrossReference.objects.filter(entity_type=entity_type, golden_id=OuterRef("pk"), **lookups))


class GoldenFilterSet(django_filters.FilterSet):
    """Filters every golden model shares: ids, lifecycle state, validity,
    time windows, the systems a record came from, and ``q``."""

    #: text fields searched by ``q`` with ``icontains``
    search_contains: tuple[str, ...] = ()
    #: identifier fields searched by ``q`` with ``iexact``
    search_exact: tuple[str, ...] = ()
    #: query parameters every caller may send that are not filters
    passthrough_params: frozenset[str] = frozenset()

    q = django_filters.CharFilter(method="filter_q", label="Search",
                                  help_text="Free text: names, identifiers, golden id or any system's id.")
    id = UUIDInFilter(field_name="id", label="Golden ids", help_text="One or more golden ids, comma-separated.")
    state = django_filters.MultipleChoiceFilter(
        choices=LifecycleState.choices, label="Lifecycle state", distinct=False,
        help_text="Repeat the parameter for several states. The API shows approved records unless the caller "
                  "may read pending ones.",
    )
    is_valid = django_filters.BooleanFilter(label="Passes validation")
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Updated at or after",
        help_text="ISO 8601 timestamp; records changed at or after it.",
    )
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt",
                                                      label="Updated before")
    created_since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte",
                                                     label="Created at or after")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt",
                                                      label="Created before")
    approved_since = django_filters.IsoDateTimeFilter(field_name="approved_at", lookup_expr="gte",
                                                      label="Approved at or after")
    merged_into = UUIDInFilter(field_name="merged_into_id", label="Merged into (golden id)")
    system = CharInFilter(method="filter_system", label="From system",
                          help_text="Records with a cross-reference to one of these system codes.")
    source_id = django_filters.CharFilter(method="filter_source_id", label="Any system's id",
                                          help_text="Records some system knows under this id.")

    class Meta:
        form = StrictFilterForm
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, passthrough=(), only_given=False):
        """``only_given``: build only the filters the query string names (the
        API).  django-filter deep-copies every declared filter and builds a form
        field for each on every request — some thirty for customers — although
        a filter that was not given filters nothing; the UI, which renders the
        whole filter form, needs them all."""
        if only_given and data is not None:
            head = f"{prefix}-" if prefix else ""
            given = {key.removeprefix(head) for key in data.keys()}
            self.base_filters = {name: f for name, f in type(self).base_filters.items() if name in given}
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        self.passthrough = frozenset(self.passthrough_params) | frozenset(passthrough)

    # --- strictness -----------------------------------------------------------
    def unknown_params(self) -> tuple[str, ...]:
        if self.data is None:
            return ()
        known = set(type(self).base_filters) | self.passthrough
        prefix = f"{self.form_prefix}-" if self.form_prefix else ""
        return tuple(sorted(k for k in self.data.keys() if k.removeprefix(prefix) not in known))

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            form.unknown_params = self.unknown_params()
            form.known_filters = tuple(sorted(type(self).base_filters))
        return self._form

    # --- methods ------------------------------------------------------------------
    @property
    def entity_type(self) -> str:
        return self._meta.model.entity_type

    def filter_q(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        cond = Q()
        for f in self.search_contains:
            cond |= Q(**{f"{f}__icontains": value})
        for f in self.search_exact:
            cond |= Q(**{f"{f}__iexact": value})
        try:
            cond |= Q(pk=uuid.UUID(value))
        except ValueError:
            pass
        cond |= _xref_exists(self.entity_type, external_id=value)
        return queryset.filter(cond)

    def filter_system(self, queryset, name, value):
        codes = [v for v in value if v]
        if not codes:
            return queryset
        return queryset.filter(_xref_exists(self.entity_type, system__code__in=codes))

    def filter_source_id(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_xref_exists(self.entity_type, external_id=value))


# --- the four FilterSets --------------------------------------------------------

class CustomerFilterSet(GoldenFilterSet):
    search_contains = ("legal_name", "trading_name", "website", "email")
    search_exact = ("tax_id", "registration_number", "lei", "duns")

    legal_name = django_filters.CharFilter(lookup_expr="icontains", label="Legal name contains")
    trading_name = django_filters.CharFilter(lookup_expr="icontains", label="Trading name contains")
    name = django_filters.CharFilter(method="filter_name", label="Legal or trading name contains")
    tax_id = CharInFilter(field_name="tax_id", label="Tax / VAT id (exact)")
    registration_number = CharInFilter(field_name="registration_number", label="Registration number")
    lei = CharInFilter(field_name="lei", label="LEI")
    duns = CharInFilter(field_name="duns", label="DUNS")
    website = django_filters.CharFilter(lookup_expr="iexact", label="Website domain")
    email = django_filters.CharFilter(lookup_expr="iexact", label="Billing e-mail")
    phone = django_filters.CharFilter(lookup_expr="iexact", label="Phone")
    city = django_filters.CharFilter(lookup_expr="iexact", label="Billing city")
    postcode = django_filters.CharFilter(lookup_expr="iexact", label="Billing postcode")
    country = CharInFilter(field_name="country", label="Country (ISO 3166 alpha-2)")
    currency = CharInFilter(field_name="currency", label="Currency (ISO 4217)")
    payment_terms = CharInFilter(field_name="payment_terms", label="Payment terms")
    industry = django_filters.CharFilter(lookup_expr="icontains", label="Industry contains")
    account_owner = django_filters.CharFilter(lookup_expr="iexact", label="Account owner")
    status = CharInFilter(field_name="status", label="Customer status")
    has_parent = django_filters.BooleanFilter(field_name="parent", lookup_expr="isnull", exclude=True,
                                              label="Has a parent customer")
    parent = UUIDInFilter(field_name="parent_id", label="Parent customer (golden ids)")
    parent_tax_id = django_filters.CharFilter(field_name="parent__tax_id", lookup_expr="iexact",
                                              label="Parent customer tax id")
    parent_name = django_filters.CharFilter(field_name="parent__legal_name", lookup_expr="icontains",
                                            label="Parent customer name contains")
    legal_entity = UUIDInFilter(field_name="legal_entity_id", label="Billing legal entity (golden ids)")
    legal_entity_code = django_filters.CharFilter(field_name="legal_entity__code", lookup_expr="iexact",
                                                  label="Billing legal entity code")

    class Meta(GoldenFilterSet.Meta):
        model = Customer

    def filter_name(self, queryset, name, value):
        return queryset.filter(Q(legal_name__icontains=value) | Q(trading_name__icontains=value)) if value else queryset


class LegalEntityFilterSet(GoldenFilterSet):
    search_contains = ("name",)
    search_exact = ("code", "tax_registration")

    code = CharInFilter(field_name="code", label="Code")
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    country = CharInFilter(field_name="country", label="Country (ISO 3166 alpha-2)")
    base_currency = CharInFilter(field_name="base_currency", label="Base currency (ISO 4217)")
    tax_registration = CharInFilter(field_name="tax_registration", label="Tax registration")

    class Meta(GoldenFilterSet.Meta):
        model = LegalEntity


class _CommercialFilters(GoldenFilterSet):
    """Filters contracts and projects share."""

    billing_model = CharInFilter(field_name="billing_model", label="Billing model")
    currency = CharInFilter(field_name="currency", label="Currency (ISO 4217)")
    status = CharInFilter(field_name="status", label="Status")
    start_date_after = django_filters.DateFilter(field_name="start_date", lookup_expr="gte",
                                                 label="Starts on or after")
    start_date_before = django_filters.DateFilter(field_name="start_date", lookup_expr="lte",
                                                  label="Starts on or before")
    end_date_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte", label="Ends on or after")
    end_date_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lte",
                                                label="Ends on or before")
    active_on = django_filters.DateFilter(method="filter_active_on", label="Running on this date")
    customer = UUIDInFilter(field_name="customer_id", label="Customer (golden ids)")
    customer_tax_id = django_filters.CharFilter(field_name="customer__tax_id", lookup_expr="iexact",
                                                label="Customer tax id")
    customer_name = django_filters.CharFilter(field_name="customer__legal_name", lookup_expr="icontains",
                                              label="Customer name contains")
    legal_entity = UUIDInFilter(field_name="legal_entity_id", label="Legal entity (golden ids)")
    legal_entity_code = django_filters.CharFilter(field_name="legal_entity__code", lookup_expr="iexact",
                                                  label="Legal entity code")

    def filter_active_on(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Q(start_date__isnull=True) | Q(start_date__lte=value),
                               Q(end_date__isnull=True) | Q(end_date__gte=value))


class ContractFilterSet(_CommercialFilters):
    search_contains = ("title",)
    search_exact = ("number", "opportunity_id")

    number = CharInFilter(field_name="number", label="Contract number")
    title = django_filters.CharFilter(lookup_expr="icontains", label="Title contains")
    payment_terms = CharInFilter(field_name="payment_terms", label="Payment terms")
    opportunity_id = CharInFilter(field_name="opportunity_id", label="Originating opportunity id")
    value_min = django_filters.NumberFilter(field_name="value", lookup_expr="gte", label="Value at least")
    value_max = django_filters.NumberFilter(field_name="value", lookup_expr="lte", label="Value at most")

    class Meta(GoldenFilterSet.Meta):
        model = Contract


class ProjectFilterSet(_CommercialFilters):
    search_contains = ("name", "manager")
    search_exact = ("code",)

    code = CharInFilter(field_name="code", label="Project code")
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name contains")
    manager = django_filters.CharFilter(lookup_expr="icontains", label="Project manager contains")
    budget_min = django_filters.NumberFilter(field_name="budget", lookup_expr="gte", label="Budget at least")
    budget_max = django_filters.NumberFilter(field_name="budget", lookup_expr="lte", label="Budget at most")
    contract = UUIDInFilter(field_name="contract_id", label="Contract (golden ids)")
    contract_number = django_filters.CharFilter(field_name="contract__number", lookup_expr="iexact",
                                                label="Contract number")

    class Meta(GoldenFilterSet.Meta):
        model = Project


FILTERSETS: dict[str, type[GoldenFilterSet]] = {
    EntityType.CUSTOMER: CustomerFilterSet,
    EntityType.LEGAL_ENTITY: LegalEntityFilterSet,
    EntityType.CONTRACT: ContractFilterSet,
    EntityType.PROJECT: ProjectFilterSet,
}


def filterset_for(entity_type: str) -> type[GoldenFilterSet]:
    return FILTERSETS[entity_type]
