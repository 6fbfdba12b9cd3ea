"""Building a subgraph schema: Federation v2.9, the field-rule check, error masking, and the
hostile-query limits of a subgraph (the gateway has its own, tighter ones; these hold when a
subgraph is reached directly with a valid token)."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule, ValidationRule
from strawberry.extensions import MaskErrors, MaxTokensLimiter, SchemaExtension
from strawberry.federation.schema import FederationAny
from strawberry.types import Info

from .authz import check_rules
from .errors import InputError, PublicError
from .limits import measure
from .settings import Settings

log = logging.getLogger(__name__)
MASKED = "Internal error; see the service log (reference in extensions)"
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or error.path is None:
        return False  # syntax/validation/coercion errors are about the client's document
    if isinstance(original, GraphQLError):
        return False
    if isinstance(original, (PublicError, InputError)):  # a bad argument of a query: the client's mistake
        error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return False
    ref = uuid.uuid4().hex[:12]
    log.error("resolver failed ref=%s path=%s", ref, ".".join(map(str, error.path)), exc_info=original)
    error.extensions = {**(error.extensions or {}), "code": "INTERNAL_SERVER_ERROR", "reference": ref}
    return True


def mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=_should_mask, error_message=MASKED)


class DocumentLimits(SchemaExtension):
    """Refuses a document whose expanded size, depth, aliases or estimated cost is over this
    subgraph's limits (services/common/limits.py), before graphql-core validates it: the measure is
    linear in the document, while validating a fragment bomb is not."""

    def __init__(self, *, settings: Settings):
        self.settings = settings

    def on_validate(self):
        ec = self.execution_context
        if ec.graphql_document is not None and ec.pre_execution_errors is None:
            m = measure(ec.schema._schema, ec.graphql_document, ec.operation_name, ec.variables)
            problem = m and self.problem(m, getattr(ec.context, "settings", None) or self.settings)
            if problem:
                code = (
                    "COST_ESTIMATED_TOO_EXPENSIVE"
                    if problem.startswith("estimated cost")
                    else "GRAPHQL_VALIDATION_FAILED"
                )
                ec.pre_execution_errors = [GraphQLError(f"Document refused: {problem}", extensions={"code": code})]
        yield

    @staticmethod
    def problem(m, s: Settings) -> str | None:
        for what, value, limit in (
            ("fields after expanding fragments", m.fields, s.max_fields),
            ("depth", m.depth, s.max_depth),
            ("aliases", m.aliases, s.max_aliases),
            ("directives", m.directives, s.max_directives),
            ("copies of one field in a selection set", m.duplicates, s.max_duplicate_fields),
            ("estimated cost", m.cost, s.max_cost),
        ):
            if limit and value > limit:
                return f"{what} {value} exceeds the limit of {limit}"
        return None


class NoSuggestions(SchemaExtension):
    """Outside development, no "Did you mean …?" in any error (they would teach the schema)."""

    def on_operation(self):
        yield
        ec = self.execution_context
        settings = getattr(ec.context, "settings", None)
        if settings is None or settings.development:
            return
        for error in (ec.result.errors or []) if ec.result else []:
            if "Did you mean" in error.message:
                error.message = SUGGESTION.sub("", error.message).strip()


class PortalIntrospectionGuard(SchemaExtension):
    """Outside development, partner and customer tokens cannot introspect the subgraph (nor read
    its SDL through `_service`), even when they reach it directly."""

    def on_operation(self):
        ec = self.execution_context
        principal = getattr(ec.context, "principal", None)
        if principal is not None and principal.is_portal and not ec.context.settings.development:
            ec.validation_rules = (*ec.validation_rules, NoSchemaIntrospectionCustomRule, _NoServiceSDL)
        yield


class _NoServiceSDL(ValidationRule):
    def enter_field(self, node, *_):
        if node.name.value == "_service":
            self.report_error(GraphQLError("GraphQL introspection has been disabled", [node]))


class _Schema(strawberry.federation.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Client mistakes (syntax, validation, bad arguments) are answered, not logged as
        # failures; unexpected resolver errors are logged once, with a reference, by _should_mask.
        return None

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """`_entities`, for representations of this subgraph's entities only: each names an entity
        type that has a reference resolver and carries exactly its key, `id`, as a string.
        Anything else is a typed error for the whole call (the router never sends it)."""
        for index, rep in enumerate(representations):
            problem = self._bad_representation(rep)
            if problem:
                raise GraphQLError(f"representations[{index}]: {problem}", extensions={"code": "BAD_USER_INPUT"})
        return super().entities_resolver(info, representations)

    def _bad_representation(self, rep) -> str | None:
        if not isinstance(rep, dict):
            return "a representation is an object"
        typename = rep.get("__typename")
        graphql_type = self.schema_converter.type_map.get(typename) if isinstance(typename, str) else None
        origin = getattr(getattr(graphql_type, "definition", None), "origin", None)
        if origin is None or not hasattr(origin, "resolve_reference"):
            return f"{str(typename)[:64]!r} is not an entity of this subgraph"
        if set(rep) != {"__typename", "id"} or not isinstance(rep["id"], str):
            return f"a {typename} representation is {{__typename, id}} with a string id"
        return None


def build_schema(
    query, mutation=None, types: Sequence[type] = (), settings: Settings | None = None
) -> strawberry.federation.Schema:
    """A subgraph schema with its limits; refuses a schema where a field lacks a role rule."""
    s = settings or Settings(service="schema")
    schema = _Schema(
        query=query,
        mutation=mutation,
        types=list(types),
        federation_version="2.9",
        extensions=[
            mask_errors,
            lambda: MaxTokensLimiter(max_token_count=s.max_tokens),
            lambda: DocumentLimits(settings=s),
            PortalIntrospectionGuard,
            NoSuggestions,
        ],
    )
    check_rules(schema)
    return schema
