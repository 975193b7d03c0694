"""OpenAPI extensions: how the service-account token appears in the schema,
and ``anyOf`` responses (a list row in full or brief form)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object, get_class
from rest_framework import serializers


class ServiceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mdm.api.auth.ServiceTokenAuthentication"
    name = "serviceToken"
    priority = 1

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
        scheme["description"] = (
            "A service account's token: `Authorization: Token <token>`, created with "
            "`python manage.py create_service_account <name> --system <code>`."
        )
        return scheme


class AnyOf(serializers.Serializer):
    """Schema only: a value matching any of ``choices`` (e.g. a list row in
    full or in ``?brief=1`` form).  Never used to serialise; make one with
    ``any_of``."""

    component_name = ""
    choices: tuple = ()


def any_of(component_name: str, choices) -> type[AnyOf]:
    return type(component_name, (AnyOf,), {"component_name": component_name, "choices": tuple(choices)})


class AnyOfExtension(OpenApiSerializerExtension):
    target_class = AnyOf
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        return get_class(self.target).component_name

    def map_serializer(self, auto_schema, direction):
        choices = get_class(self.target).choices
        return {"anyOf": [auto_schema.resolve_serializer(choice, direction).ref for choice in choices]}
