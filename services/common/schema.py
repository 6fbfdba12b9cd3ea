"""Building a subgraph schema: Federation v2.9, the field-rule check, error masking, and the
hostile-query limits of a subgraph (the gateway has its own, tighter ones; these hold when a
subgraph is reached directly with a valid token)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule, ValidationRule
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension

from .authz import check_rules
from .errors import PublicError
from .settings import Settings

log = logging.getLogger(__name__)
MASKED = "Internal error; see the service log (reference in extensions)"


def _should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or error.path is None:
        return False  # syntax/validation/coercion errors are about the client's document
    if isinstance(original, (PublicError, GraphQLError)):
        return False
    ref = uuid.uuid4().hex[:12]
    log.error("resolver failed ref=%s path=%s", ref, ".".join(map(str, error.path)), exc_info=original)
    error.extensions = {**(error.extensions or {}), "code": "INTERNAL_SERVER_ERROR", "reference": ref}
    return True


def mask_errors() -> MaskErrors:
    return MaskErrors(should_mask_error=_should_mask, error_message=MASKED)


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
            lambda: QueryDepthLimiter(max_depth=s.max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=s.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=s.max_tokens),
            PortalIntrospectionGuard,
        ],
    )
    check_rules(schema)
    return schema
