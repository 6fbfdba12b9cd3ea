"""What one GraphQL document may cost a subgraph, measured before anything runs (docs/security.md).

A document is measured once per fragment: the size, depth, aliases and estimated cost of each
fragment are computed the first time it is spread and reused for every other spread, so nested
fragments (`...F9 ...F9 ...F9 ...F9` ten levels deep) cost their length, not 4^10 walks. The
measures are of the *expanded* document (what execution would do):

- `fields`: field selections after expanding every spread;
- `depth`: nesting of fields (a spread or inline fragment adds no level);
- `aliases`: aliased fields after expansion;
- `directives`: directives on fields, fragments and the operation, after expansion;
- `duplicates`: the most times one response key appears in one selection set as written (500
  copies of `__typename` validate and merge, but cost validation quadratic time);
- `cost`: estimated objects, the gateway's rule (gateway/gateway.config.mjs `estimateCost`):
  an object field costs count × (1 + cost of its selection), count being 1 for one object and, for
  a list, the enclosing connection's `first`/`last` (DEFAULT_PAGE without one), the number of
  representations for `_entities`, or UNSLICED_LIST for other lists.

Hand-written rather than graphql-core's or Strawberry's limiters: those walk a fragment again on
every spread (exponential in the nesting) and run after validation, whose own rules are the
expensive part for such documents."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

DEFAULT_PAGE = 20  # services/common/graphql.py DEFAULT_PAGE
UNSLICED_LIST = 10


@dataclass(frozen=True)
class Size:
    fields: int = 0
    depth: int = 0
    aliases: int = 0
    directives: int = 0
    duplicates: int = 0  # the most times one response key appears in one selection set as written

    def __add__(self, other: Size) -> Size:
        return Size(
            self.fields + other.fields,
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.directives + other.directives,
            max(self.duplicates, other.duplicates),
        )


@dataclass(frozen=True)
class Measure:
    fields: int
    depth: int
    aliases: int
    directives: int
    duplicates: int
    cost: int


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in ops if o.name and o.name.value == name), None)
    return ops[0] if len(ops) == 1 else None


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
) -> Measure | None:
    """The measures of the operation that would run (None when there is no single operation to
    run: validation then answers)."""
    return measure_reading(schema, document, operation_name, variables)[0]


def variables_key(names: frozenset[str], variables: dict[str, Any] | None) -> tuple:
    """What of `variables` a measure depends on, given the variable `names` it read: the value of
    an integer (a page size), the length of a list (representations), or that the default applied. Two
    requests of one document with the same key have the same measure."""
    variables = variables or {}
    key = []
    for name in sorted(names):
        if name not in variables:
            key.append((name, "default"))
            continue
        value = variables[name]
        if isinstance(value, list):  # representations: only their number counts
            key.append((name, "list", len(value)))
        else:
            key.append((name, value if isinstance(value, int) and not isinstance(value, bool) else None))
    return tuple(key)


def measure_reading(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: dict[str, Any] | None = None,
) -> tuple[Measure | None, frozenset[str]]:
    """`measure`, and the names of the variables it read (see `variables_key`)."""
    op = _operation(document, operation_name)
    if op is None:
        return None, frozenset()
    read: set[str] = set()
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    variables = variables or {}
    defaults = {v.variable.name.value: v.default_value for v in op.variable_definitions or ()}
    sizes: dict[str, Size] = {}
    costs: dict[tuple[str, int | None], int] = {}

    def int_value(node: Any) -> int | None:
        if isinstance(node, VariableNode):
            name = node.name.value
            read.add(name)
            value = variables.get(name) if name in variables else int_value(defaults.get(name))
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return int(node.value) if isinstance(node, IntValueNode) else None

    def size(selection_set: SelectionSetNode | None) -> Size:
        selections = selection_set.selections if selection_set else ()
        keys = Counter((s.alias or s.name).value for s in selections if isinstance(s, FieldNode))
        total = Size(duplicates=max(keys.values(), default=0))
        for sel in selections:
            total += Size(directives=len(sel.directives or ()))
            if isinstance(sel, FieldNode):
                inner = size(sel.selection_set)
                total += Size(
                    1 + inner.fields,
                    1 + inner.depth if sel.selection_set else 1,
                    inner.aliases + (1 if sel.alias else 0),
                    inner.directives,
                    inner.duplicates,
                )
            elif isinstance(sel, InlineFragmentNode):
                total += size(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                if name not in sizes:
                    sizes[name] = Size()  # a cycle counts nothing (validation refuses it)
                    fragment = fragments.get(name)
                    sizes[name] = size(fragment.selection_set) if fragment else Size()
                total += sizes[name]
        return total

    def representations(node: FieldNode) -> int:
        """How many representations `_entities` gets: the list's length, whatever the variable
        holding it is called (the gateway calls it `$representations`)."""
        given = next((a.value for a in node.arguments or () if a.name.value == "representations"), None)
        if isinstance(given, ListValueNode):
            return len(given.values)
        if isinstance(given, VariableNode):
            read.add(given.name.value)
            reps = variables.get(given.name.value)
            return len(reps) if isinstance(reps, list) else UNSLICED_LIST
        return UNSLICED_LIST

    def page_of(node: FieldNode, field: Any) -> int | None:
        page = None
        for arg in ("first", "last"):
            if arg in field.args:
                given = next((a.value for a in node.arguments or () if a.name.value == arg), None)
                n = int_value(given)
                page = max(page or 0, max(0, n) if n is not None else DEFAULT_PAGE)
        return page

    def cost(selection_set: SelectionSetNode | None, parent: Any, list_size: int | None) -> int:
        total = 0
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                name = sel.name.value
                fields = getattr(parent, "fields", None) or {}
                field = fields.get(name) if sel.selection_set and not name.startswith("__") else None
                if field is None:
                    continue
                if name == "_entities":
                    count = representations(sel)
                elif is_list_type(get_nullable_type(field.type)):
                    count = list_size if list_size is not None else UNSLICED_LIST
                else:
                    count = 1
                total += count * (1 + cost(sel.selection_set, get_named_type(field.type), page_of(sel, field)))
            elif isinstance(sel, InlineFragmentNode):
                typ = schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                total += cost(sel.selection_set, typ, list_size)
            elif isinstance(sel, FragmentSpreadNode):
                key = (sel.name.value, list_size)
                if key not in costs:
                    costs[key] = 0
                    fragment = fragments.get(sel.name.value)
                    typ = schema.get_type(fragment.type_condition.name.value) if fragment else None
                    costs[key] = cost(fragment.selection_set, typ, list_size) if fragment else 0
                total += costs[key]
        return total

    s = size(op.selection_set) + Size(directives=len(op.directives or ()))
    root = schema.get_root_type(op.operation)
    c = cost(op.selection_set, root, None)
    return Measure(
        fields=s.fields,
        depth=s.depth,
        aliases=s.aliases,
        directives=s.directives,
        duplicates=s.duplicates,
        cost=c,
    ), frozenset(read)
