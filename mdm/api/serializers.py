"""API serializers.  Every field is listed explicitly (no ``__all__``); the
golden serializers are read-only (no golden write endpoint takes a body of
field values), and the inbound serializer accepts exactly
``entity_type``, ``source_id``, ``data`` and an optional ``system``.

The master serializers render fast: lists of 1,000 records are the hot path
of a nightly pull, so ``to_representation`` runs a per-serializer plan of
plain attribute reads instead of DRF's generic per-field machinery (the
declared fields still drive validation of nothing, the schema and the plan).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mdm.choices import EntityType, IngestOutcome, LifecycleState
from mdm.models import ChangeEvent, Contract, CrossReference, Customer, LegalEntity, Project

ROUTES = {
    EntityType.CUSTOMER: "customers",
    EntityType.LEGAL_ENTITY: "legal-entities",
    EntityType.CONTRACT: "contracts",
    EntityType.PROJECT: "projects",
}


def api_root(context) -> str:
    """``https://host/api/v1/``, computed once per request."""
    request = context.get("request")
    if request is None:
        return "/api/v1/"
    cached = getattr(request, "_mdm_api_root", None)
    if cached is None:
        cached = request.build_absolute_uri("/api/v1/")
        request._mdm_api_root = cached
    return cached


def record_url(context, entity_type: str, pk) -> str:
    return f"{api_root(context)}{ROUTES[entity_type]}/{pk}/"


def jsonable(value):
    """A model value as JSON (history diffs, lineage)."""
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, (dt.date, uuid.UUID, Decimal)):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return value


def _iso(value: dt.datetime) -> str:
    """Always with microseconds, as PostgreSQL's ``to_char`` writes them on the list path."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(dt.timezone.utc)
    text = value.isoformat(timespec="microseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- the brief form of a reference -----------------------------------------------

class BriefSerializer(serializers.Serializer):
    """How one golden record refers to another (and the ``?brief=1`` list form)."""

    id = serializers.UUIDField(read_only=True)
    url = serializers.URLField(read_only=True)
    display = serializers.CharField(read_only=True)


@extend_schema_field(BriefSerializer(allow_null=True))
class RefField(serializers.Field):
    """A foreign key to another golden record, rendered in brief form."""

    def __init__(self, entity_type: str, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)
        self.entity_type = entity_type

    def to_representation(self, value):
        return {"id": str(value.pk), "url": record_url(self.context, self.entity_type, value.pk), "display": str(value)}


# --- masters ------------------------------------------------------------------------

def drf_datetime(value: dt.datetime | None) -> str | None:
    """A timestamp exactly as DRF's ``DateTimeField`` writes it (UTC, ``Z``,
    microseconds only when there are some)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _plan_for(name: str, field: serializers.Field):
    """A fast ``getter(serializer, obj)`` for one declared field, or None to
    use DRF's own path."""
    source = field.source
    if isinstance(field, serializers.SerializerMethodField):
        method_name = field.method_name or f"get_{name}"
        return lambda ser, obj: getattr(ser, method_name)(obj)
    if isinstance(field, serializers.ListSerializer) and isinstance(field.child, XrefSerializer) and source != "*":
        get = attrgetter(source)
        return lambda ser, obj: xref_rows(get(obj))
    if source == "*" or "." in source:
        return None
    get = attrgetter(source)
    if isinstance(field, RefField):
        attname = f"{source}_id"
        entity_type = field.entity_type

        def ref(ser, obj):
            if getattr(obj, attname) is None:
                return None
            value = get(obj)
            return {"id": str(value.pk), "url": record_url(ser.context, entity_type, value.pk), "display": str(value)}

        return ref
    if isinstance(field, serializers.UUIDField):
        return lambda ser, obj: None if (v := get(obj)) is None else str(v)
    if isinstance(field, serializers.DateTimeField):
        return lambda ser, obj: None if (v := get(obj)) is None else _iso(v)
    if isinstance(field, serializers.DateField):
        return lambda ser, obj: None if (v := get(obj)) is None else v.isoformat()
    if isinstance(field, serializers.DecimalField):
        to_rep = field.to_representation
        return lambda ser, obj: None if (v := get(obj)) is None else to_rep(v)
    if isinstance(field, (serializers.CharField, serializers.ChoiceField, serializers.IntegerField,
                          serializers.BooleanField, serializers.JSONField)):
        return lambda ser, obj: get(obj)
    return None


_PLANS: dict[type, list] = {}


class GoldenSerializer(serializers.ModelSerializer):
    """Common read fields of every master."""

    url = serializers.SerializerMethodField()
    display = serializers.SerializerMethodField()
    merged_into = serializers.UUIDField(source="merged_into_id", read_only=True, allow_null=True)

    common_fields = ("id", "url", "display", "state", "version", "is_valid", "created_at", "updated_at",
                     "approved_at", "merged_into")

    class Meta:
        read_only_fields = ()

    def get_url(self, obj) -> str:
        return record_url(self.context, obj.entity_type, obj.pk)

    def get_display(self, obj) -> str:
        return str(obj)

    def to_representation(self, instance):
        """One plan per serializer class, built once per process: DRF would
        build every field (and the model field mapping) for every response."""
        plan = _PLANS.get(type(self))
        if plan is None:
            plan = []
            for name, field in self.fields.items():
                fast = _plan_for(name, field)
                plan.append((name, fast if fast is not None else _slow_getter(name)))
            _PLANS[type(self)] = plan
        return {name: get(self, instance) for name, get in plan}


def _slow_getter(name: str):
    def slow(ser, obj):
        field = ser.fields[name]
        value = field.get_attribute(obj)
        return None if value is None else field.to_representation(value)

    return slow


class XrefSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="system.code", read_only=True)
    source_record = serializers.IntegerField(source="source_record_id", read_only=True, allow_null=True)

    class Meta:
        model = CrossReference
        fields = ("system", "external_id", "role", "source_record", "created_at", "updated_at")
        read_only_fields = fields


def xref_rows(xrefs) -> list[dict]:
    """``XrefSerializer(xrefs, many=True).data`` without DRF's per-field
    machinery (``system`` must be loaded with ``select_related``)."""
    return [{"system": x.system.code, "external_id": x.external_id, "role": x.role,
             "source_record": x.source_record_id, "created_at": drf_datetime(x.created_at),
             "updated_at": drf_datetime(x.updated_at)} for x in xrefs]


class DetailMixin(serializers.Serializer):
    """What a detail read adds to the list form: cross-references, per-field
    lineage and the history link."""

    xrefs = XrefSerializer(many=True, read_only=True, source="api_xrefs")
    lineage = serializers.JSONField(read_only=True, help_text=(
        "Per golden field: the source record, system, rule and time that gave its value."))
    history_url = serializers.SerializerMethodField()

    detail_fields = ("xrefs", "lineage", "history_url")

    def get_history_url(self, obj) -> str:
        return record_url(self.context, obj.entity_type, obj.pk) + "history/"


_CUSTOMER_FIELDS = ("legal_name", "trading_name", "parent", "legal_entity", "tax_id", "registration_number", "lei",
                    "duns", "website", "phone", "email", "address_line", "city", "postcode", "country", "currency",
                    "payment_terms", "industry", "account_owner", "status")
_LEGAL_ENTITY_FIELDS = ("code", "name", "country", "base_currency", "tax_registration")
_CONTRACT_FIELDS = ("number", "customer", "legal_entity", "title", "billing_model", "value", "currency",
                    "payment_terms", "start_date", "end_date", "status", "opportunity_id")
_PROJECT_FIELDS = ("code", "name", "customer", "contract", "legal_entity", "manager", "billing_model", "budget",
                   "currency", "start_date", "end_date", "status")


class CustomerSerializer(GoldenSerializer):
    parent = RefField(EntityType.CUSTOMER)
    legal_entity = RefField(EntityType.LEGAL_ENTITY)

    class Meta:
        model = Customer
        fields = GoldenSerializer.common_fields + _CUSTOMER_FIELDS
        read_only_fields = fields


class LegalEntitySerializer(GoldenSerializer):
    class Meta:
        model = LegalEntity
        fields = GoldenSerializer.common_fields + _LEGAL_ENTITY_FIELDS
        read_only_fields = fields


class ContractSerializer(GoldenSerializer):
    customer = RefField(EntityType.CUSTOMER)
    legal_entity = RefField(EntityType.LEGAL_ENTITY)

    class Meta:
        model = Contract
        fields = GoldenSerializer.common_fields + _CONTRACT_FIELDS
        read_only_fields = fields


class ProjectSerializer(GoldenSerializer):
    customer = RefField(EntityType.CUSTOMER)
    contract = RefField(EntityType.CONTRACT)
    legal_entity = RefField(EntityType.LEGAL_ENTITY)

    class Meta:
        model = Project
        fields = GoldenSerializer.common_fields + _PROJECT_FIELDS
        read_only_fields = fields


class CustomerDetailSerializer(DetailMixin, CustomerSerializer):
    class Meta(CustomerSerializer.Meta):
        fields = CustomerSerializer.Meta.fields + DetailMixin.detail_fields
        read_only_fields = fields


class LegalEntityDetailSerializer(DetailMixin, LegalEntitySerializer):
    class Meta(LegalEntitySerializer.Meta):
        fields = LegalEntitySerializer.Meta.fields + DetailMixin.detail_fields
        read_only_fields = fields


class ContractDetailSerializer(DetailMixin, ContractSerializer):
    class Meta(ContractSerializer.Meta):
        fields = ContractSerializer.Meta.fields + DetailMixin.detail_fields
        read_only_fields = fields


class ProjectDetailSerializer(DetailMixin, ProjectSerializer):
    class Meta(ProjectSerializer.Meta):
        fields = ProjectSerializer.Meta.fields + DetailMixin.detail_fields
        read_only_fields = fields


class GoldenBriefSerializer(GoldenSerializer):
    """``?brief=1``: just enough to refer to the record."""

    class Meta:
        model = Customer  # replaced per view; the fields are common to every master
        fields = ("id", "url", "display", "state", "version", "updated_at")
        read_only_fields = fields


@functools.lru_cache(maxsize=None)
def brief_serializer_for(model):
    return type(f"{model.__name__}BriefSerializer", (GoldenBriefSerializer,), {
        "Meta": type("Meta", (), {"model": model, "fields": GoldenBriefSerializer.Meta.fields,
                                  "read_only_fields": GoldenBriefSerializer.Meta.fields}),
    })


class MergedPointerSerializer(serializers.Serializer):
    """The answer for a merged record's id: where it went."""

    id = serializers.UUIDField(read_only=True)
    state = serializers.CharField(read_only=True, help_text="Always `merged`.")
    merged_into = serializers.UUIDField(read_only=True, help_text="The surviving record (after following chains).")
    url = serializers.URLField(read_only=True, help_text="The surviving record's URL (also the Location header).")


# --- history -------------------------------------------------------------------------------

class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer):
    history_id = serializers.IntegerField()
    date = serializers.DateTimeField()
    type = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    version = serializers.IntegerField()
    state = serializers.ChoiceField(choices=LifecycleState.choices)
    user = serializers.CharField(allow_null=True, help_text="The person or service account's user name.")
    actor = serializers.CharField(help_text="Display name: a user name or svc:<service account>.")
    origin = serializers.CharField(help_text="web, api, import, sync, match, merge or system.")
    reason = serializers.CharField(allow_null=True)
    correlation_id = serializers.CharField()
    changes = FieldChangeSerializer(many=True)


class HistoryPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = HistoryEntrySerializer(many=True)


# --- inbound ----------------------------------------------------------------------------------

class SourceRecordInSerializer(serializers.Serializer):
    """One record a system sends.  The system is the caller's own."""

    entity_type = serializers.ChoiceField(choices=EntityType.choices)
    source_id = serializers.CharField(max_length=128, help_text="The record's id in the sending system.")
    data = serializers.DictField(help_text="The record's fields in the sending system's own names.")
    system = serializers.CharField(required=False, max_length=32, help_text=(
        "Optional; must be the caller's own system code (another system's answers 403)."))


class IngestOutcomeSerializer(serializers.Serializer):
    """What happened to one record of the request."""

    index = serializers.IntegerField(help_text="Position in the request (0 for a single object).")
    outcome = serializers.ChoiceField(choices=IngestOutcome.choices)
    entity_type = serializers.CharField(allow_null=True, required=False)
    source_id = serializers.CharField(allow_null=True, required=False)
    source_record = serializers.IntegerField(allow_null=True, required=False)
    golden_id = serializers.UUIDField(allow_null=True, required=False)
    decision = serializers.CharField(allow_null=True, required=False,
                                     help_text="For created records: matched, new or review.")
    review_tasks = serializers.ListField(child=serializers.IntegerField(), required=False)
    pending_review = serializers.BooleanField(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="For rejected records: field → messages.")


class IngestSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()


class BulkIngestResponseSerializer(serializers.Serializer):
    summary = IngestSummarySerializer()
    results = IngestOutcomeSerializer(many=True)


# --- cross-references and the change feed ---------------------------------------------------

class XrefLookupSerializer(serializers.Serializer):
    entity_type = serializers.ChoiceField(choices=EntityType.choices)
    golden_id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=LifecycleState.choices)
    version = serializers.IntegerField()
    url = serializers.URLField()
    xrefs = XrefSerializer(many=True, help_text="Every system's id for the golden record.")


class ChangeEventSerializer(serializers.ModelSerializer):
    cursor = serializers.CharField(source="pk", read_only=True, help_text="Resume after this event with ?after=.")
    url = serializers.SerializerMethodField()

    class Meta:
        model = ChangeEvent
        fields = ("cursor", "entity_type", "golden_id", "version", "change", "state", "extra", "correlation_id",
                  "created_at", "url")
        read_only_fields = fields

    def get_url(self, obj) -> str:
        return record_url(self.context, obj.entity_type, obj.golden_id)


CHANGE_COLUMNS = ("id", "entity_type", "golden_id", "version", "change", "state", "extra", "correlation_id",
                  "created_at")


def change_rows(rows, context) -> list[dict]:
    """``ChangeEventSerializer(events, many=True).data`` for ``values(*CHANGE_COLUMNS)`` rows."""
    root = api_root(context)
    return [{"cursor": str(r["id"]), "entity_type": r["entity_type"], "golden_id": str(r["golden_id"]),
             "version": r["version"], "change": r["change"], "state": r["state"], "extra": r["extra"],
             "correlation_id": r["correlation_id"], "created_at": drf_datetime(r["created_at"]),
             "url": f"{root}{ROUTES[r['entity_type']]}/{r['golden_id']}/"} for r in rows]


class ChangePageSerializer(serializers.Serializer):
    cursor = serializers.CharField(help_text="Pass as ?after= to continue; unchanged when nothing new.")
    next = serializers.URLField(allow_null=True, help_text="Set when more events are waiting right now.")
    results = ChangeEventSerializer(many=True)


class ApproveSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- the fast list path ------------------------------------------------------------------------

DISPLAY_FIELDS = {
    Customer: ("legal_name", "trading_name"),
    LegalEntity: ("code", "name"),
    Contract: ("number", "title"),
    Project: ("code", "name"),
}


class _RowView:
    """Lets a model's ``__str__`` run on a ``values()`` row (for ``display``)."""

    __slots__ = ("_row", "_prefix")

    def __init__(self, row: dict, prefix: str = ""):
        self._row, self._prefix = row, prefix

    def __getattr__(self, name):
        return self._row[self._prefix + name]

    @property
    def short_id(self) -> str:
        return str(self._row[self._prefix + "id"])[:8]


def iso_sql(column: str):
    """``to_char`` of a timestamp column as the API's ISO 8601 text, computed
    by PostgreSQL (parsing 3,000 timestamps per page in Python costs more
    than the query)."""
    from django.db.models import CharField, F, Func

    return Func(F(column), template="to_char(%(expressions)s AT TIME ZONE 'UTC', "
                                    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", output_field=CharField())


@functools.lru_cache(maxsize=None)
def _declared_fields(serializer_class) -> tuple:
    """The serializer's fields, built once per class (DRF builds them again
    for every instance; only their types and sources are read here)."""
    return tuple(serializer_class(context={}).fields.items())


_BASES: dict[tuple, object] = {}


class RowRenderer:
    """Renders ``values()`` rows exactly as ``serializer_class`` renders model
    instances (same keys, same values), for the list endpoints: no model
    instances, no per-field DRF machinery, timestamps formatted by the
    database on PostgreSQL.  ``tests/api`` checks list and detail agree.

    What a renderer needs (its columns and its row function) depends only on
    the serializer, the model, the API root and the database, and is made
    once per process for each (:class:`_RowTemplate`); a request gets its
    own copy of the columns and its own cache of referenced records."""

    def __init__(self, serializer_class, model, context, *, postgres: bool):
        root = api_root(context)
        key = (serializer_class, model, root, postgres)
        template = _TEMPLATES.get(key)
        if template is None:
            if len(_TEMPLATES) >= 256:  # (roots come from the Host header, which ALLOWED_HOSTS bounds)
                _TEMPLATES.clear()
            template = _TEMPLATES[key] = _RowTemplate(serializer_class, model, root, postgres)
        self.model = model
        self.columns: list[str] = list(template.columns)
        self.annotations: dict = dict(template.annotations)
        self._row = template.make_row({})

    def ensure(self, column: str) -> None:
        """Select ``column`` too (raw), unless it is already there."""
        if column not in self.columns and f"iso_{column}" not in self.annotations:
            self.columns.append(column)

    def values(self, queryset):
        return queryset.values(*self.columns, **self.annotations)

    def shape(self) -> tuple:
        """What the rows' columns depend on (a part of a list query's shape)."""
        return tuple(self.columns), tuple(self.annotations)

    def base(self):
        """``model.objects.values(…)`` of these columns, to filter and page:
        built once per process and cloned per request (``values()`` with the
        timestamp annotations cost more CPU than the filters and the page's
        ordering together).  The base is never evaluated, only cloned."""
        key = (self.model, tuple(self.columns), tuple(self.annotations))
        base = _BASES.get(key)
        if base is None:
            base = _BASES[key] = self.values(self.model.objects.all())
        return base.all()

    def render(self, rows) -> list[dict]:
        return list(map(self._row, rows))


_TEMPLATES: dict[tuple, "_RowTemplate"] = {}


class _RowTemplate:
    """The columns a serializer's list rows need and the function rendering
    a row (``_row_function``), built from the serializer's declared fields."""

    def __init__(self, serializer_class, model, root: str, postgres: bool):
        self.model = model
        self.root = root
        self.columns: list[str] = []
        self.annotations: dict = {}
        plan = [(name, self._getter(name, field, postgres)) for name, field in _declared_fields(serializer_class)]
        self.make_row = _row_function(plan)

    def _col(self, name: str) -> str:
        if name not in self.columns:
            self.columns.append(name)
        return name

    def _getter(self, name, field, postgres):
        model = self.model
        if name == "url":
            self._col("id")
            root = f"{self.root}{ROUTES[model.entity_type]}/"
            return lambda row: f"{root}{row['id']}/"
        if name == "display":
            self._col("id")
            for f in DISPLAY_FIELDS[model]:
                self._col(f)
            to_str = model.__str__
            return lambda row: to_str(_RowView(row))
        if isinstance(field, RefField):
            return self._ref_getter(field)
        source = field.source
        if isinstance(field, serializers.DateTimeField):
            if postgres:
                key = f"iso_{source}"
                self.annotations[key] = iso_sql(source)
                return _Column(key)
            col = self._col(source)
            return lambda row: None if (v := row[col]) is None else _iso(v)
        else:
            col = self._col(source)
        if isinstance(field, serializers.UUIDField):
            return _Column(col, as_str=True)
        if isinstance(field, serializers.DateField):
            return lambda row: None if (v := row[col]) is None else v.isoformat()
        if isinstance(field, serializers.DecimalField):
            to_rep = field.to_representation
            return lambda row: None if (v := row[col]) is None else to_rep(v)
        return _Column(col)

    def _ref_getter(self, field: RefField):
        source = field.source
        target = self.model._meta.get_field(source).related_model
        id_col = self._col(f"{source}_id")
        for f in DISPLAY_FIELDS[target]:
            self._col(f"{source}__{f}")
        root = f"{self.root}{ROUTES[field.entity_type]}/"
        to_str = target.__str__
        prefix = f"{source}__"

        def ref(row, cache):
            ref_id = row[id_col]
            if ref_id is None:
                return None
            key = (source, ref_id)
            hit = cache.get(key)
            if hit is None:
                view = dict(row)
                view[f"{prefix}id"] = ref_id
                hit = cache[key] = {"id": str(ref_id), "url": f"{root}{ref_id}/",
                                    "display": to_str(_RowView(view, prefix))}
            return hit

        return _Ref(ref)


class _Ref(NamedTuple):
    """A reference field's getter, ``get(row, cache)``."""

    get: object


class _Column(NamedTuple):
    """One column read as it is (or as ``str``, for a UUID): ``_row_function``
    writes it into the row's dict display; other fields have a getter."""

    column: str
    as_str: bool = False


def _row_function(plan):
    """A function ``make(cache)`` giving the function that turns a row into
    its rendered dict, written out as a single dict display (a page of rows
    used to call a getter per field, and that was most of a list request's
    rendering time); references read and fill ``cache``, one per request."""
    namespace: dict = {}
    items = []
    for i, (name, get) in enumerate(plan):
        if isinstance(get, _Column) and not get.as_str:
            value = f"row[{get.column!r}]"
        elif isinstance(get, _Column):
            value = f"(None if (v := row[{get.column!r}]) is None else str(v))"
        elif isinstance(get, _Ref):
            namespace[f"get{i}"] = get.get
            value = f"get{i}(row, cache)"
        else:
            namespace[f"get{i}"] = get
            value = f"get{i}(row)"
        items.append(f"{name!r}: {value}")
    source = (f"def make(cache):\n    def row_dict(row):\n        return {{{', '.join(items)}}}\n"
              f"    return row_dict\n")
    exec(source, namespace)  # noqa: S102 - names from code
    return namespace["make"]
