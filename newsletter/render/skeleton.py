"""A digest's skeleton without Jinja per email (issue 18): the header, the section titles
and the footer rendered once per edition and shape, then filled per reader.

``split_skeleton(env, source, cards)`` takes a digest template (the text ``render.assemble``
splits too) apart at two loops, ``{% for S in sections %}`` and, inside it, the item loop
that ``cards`` fills. The rest is rewritten so that

- every printed expression that reads the context (``{{ view_url }}``,
  ``{{ topics | join(", ") }}``, ``{{ section.title | upper }}``) is a **hole**: a random
  marker is rendered in its place, the output cut at the markers, and per email the
  expression is evaluated by a small evaluator of Jinja's expression nodes
  (``_compile``: names, attributes, filters, tests, comparisons, arithmetic) and printed
  as Jinja prints it (``markupsafe.escape`` with autoescape, ``str`` without);
- every ``{% if %}`` test that reads the context is a **switch**: the tests' truth values
  are the key of the rendered form, so each shape (a reader with or without topics, a
  section with or without papers) is rendered once;
- the two loops are holes filled from the section form and from ``cards``.

Included templates (``{% include "_footer.txt.j2" %}``) are pasted in. Anything else
(``{% set %}``, another loop, macros, calls, filter blocks, ``loop``) gives ``None``: the
renderer keeps Jinja for the skeleton (``render.assemble``). An expression that fails for
one email (an undefined name, say) is rendered by Jinja for that email. The renderer
compares the result with the whole render on the first digest of every edition
(``render.paths``), and tests compare them on random readers
(``tests/render/test_assembled.py``).
"""

from __future__ import annotations

import functools
import operator
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import markup_join, str_join
from jinja2.utils import _PassArg
from markupsafe import Markup, escape

from newsletter.render.assemble import Cards
from newsletter.render.kept_sections import KeptSections
from newsletter.render.segments import Plan, Run

MAX_FORMS = 256  # shapes kept per piece and edition (a shape: the truth of its tests)

Evaluate = Callable[[Mapping[str, Any]], Any]
Fill = Callable[[Mapping[str, Any], list[Run]], None]
# A rendered form: runs of fixed text (each with the holes it has) and raw fills between.
Step = tuple[Plan, tuple[int, ...]] | int
_FAILED = object()


class Refused(Exception):
    """The template uses something a skeleton cannot follow."""


class Failed(Exception):
    """An expression failed for this email: Jinja renders it (and raises its error)."""


_BINARY: dict[type[nodes.Expr], Callable[[Any, Any], Any]] = {
    nodes.Add: operator.add,
    nodes.Sub: operator.sub,
    nodes.Mul: operator.mul,
    nodes.Div: operator.truediv,
    nodes.FloorDiv: operator.floordiv,
    nodes.Mod: operator.mod,
    nodes.Pow: operator.pow,
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


def _compile(env: jinja2.Environment, node: nodes.Expr) -> Evaluate:
    """``node`` as a function of the context, with Jinja's semantics for the node types
    it knows (``environment.getattr`` for ``a.b``, the filter's own calling convention);
    ``Refused`` for any other node."""
    if isinstance(node, nodes.Const):
        value = node.value
        return lambda _c: value
    if isinstance(node, nodes.Name):
        name, found = node.name, env.globals

        def lookup(c: Mapping[str, Any]) -> Any:
            value = c.get(name, _FAILED)
            if value is _FAILED:
                value = found.get(name, _FAILED)
                if value is _FAILED:
                    raise Failed(name)
            return value

        return lookup
    if isinstance(node, nodes.Getattr):
        path = _attribute_path(node)
        if path is not None:  # ``a.b.c``: one C call (a missing attribute fails: Jinja's)
            name, get = path[0], operator.attrgetter(".".join(path[1:]))
            return lambda c: get(c[name])
        inner, attr, getattr_ = _compile(env, node.node), node.attr, env.getattr
        return lambda c: getattr_(inner(c), attr)
    if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Slice):
        inner, key, getitem = _compile(env, node.node), _compile(env, node.arg), env.getitem
        return lambda c: getitem(inner(c), key(c))
    if isinstance(node, nodes.Filter | nodes.Test):
        return _call(env, node)
    if isinstance(node, nodes.Not):
        inner = _compile(env, node.node)
        return lambda c: not inner(c)
    if isinstance(node, nodes.Neg | nodes.Pos):
        inner, unary = (
            _compile(env, node.node),
            operator.neg if isinstance(node, nodes.Neg) else operator.pos,
        )
        return lambda c: unary(inner(c))
    if isinstance(node, nodes.And):
        left, right = _compile(env, node.left), _compile(env, node.right)
        return lambda c: left(c) and right(c)
    if isinstance(node, nodes.Or):
        left, right = _compile(env, node.left), _compile(env, node.right)
        return lambda c: left(c) or right(c)
    if type(node) in _BINARY:
        left, right, binary = (
            _compile(env, node.left),  # type: ignore[attr-defined]
            _compile(env, node.right),  # type: ignore[attr-defined]
            _BINARY[type(node)],
        )
        return lambda c: binary(left(c), right(c))
    if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
        test, yes, no = (_compile(env, n) for n in (node.test, node.expr1, node.expr2))
        return lambda c: yes(c) if test(c) else no(c)
    if isinstance(node, nodes.Compare):
        return _compare(env, node)
    if isinstance(node, nodes.Tuple | nodes.List):
        items = [_compile(env, n) for n in node.items]
        make = tuple if isinstance(node, nodes.Tuple) else list
        return lambda c: make(item(c) for item in items)
    if isinstance(node, nodes.Concat):
        parts = [_compile(env, n) for n in node.nodes]
        join = markup_join if env.autoescape else str_join
        return lambda c: join(part(c) for part in parts)
    raise Refused(type(node).__name__)


def _attribute_path(node: nodes.Expr) -> list[str] | None:
    """``["a", "b", "c"]`` for ``a.b.c``, else ``None``."""
    path: list[str] = []
    while isinstance(node, nodes.Getattr):
        path.insert(0, node.attr)
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return [node.name, *path]


def _plain(env: jinja2.Environment, node: nodes.Expr) -> str | Evaluate:
    """A bare name as its key in the context (looked up inline, the common case), any
    other expression compiled."""
    return node.name if isinstance(node, nodes.Name) else _compile(env, node)


def _call(env: jinja2.Environment, node: nodes.Filter | nodes.Test) -> Evaluate:
    """A filter or test, called as Jinja's compiled code calls it."""
    table = env.filters if isinstance(node, nodes.Filter) else env.tests
    func: Any = table.get(node.name)
    if func is None or node.node is None or node.dyn_args or node.dyn_kwargs:
        raise Refused(node.name)
    pass_arg = _PassArg.from_obj(func)
    if pass_arg is _PassArg.context:
        raise Refused(node.name)
    first: tuple[Any, ...] = ()
    if pass_arg is _PassArg.eval_context:
        first = (nodes.EvalContext(env),)
    elif pass_arg is _PassArg.environment:
        first = (env,)
    value = _compile(env, node.node)
    args = [_compile(env, a) for a in node.args]
    kwargs: dict[str, Evaluate] = {k.key: _compile(env, k.value) for k in node.kwargs}  # type: ignore[misc]
    return lambda c: func(
        *first, value(c), *(a(c) for a in args), **{k: v(c) for k, v in kwargs.items()}
    )


def _compare(env: jinja2.Environment, node: nodes.Compare) -> Evaluate:
    first = _compile(env, node.expr)
    ops = [(_COMPARE[op.op], _compile(env, op.expr)) for op in node.ops]

    def compare(c: Mapping[str, Any]) -> Any:
        left = first(c)
        for op, get in ops:
            right = get(c)
            if not op(left, right):
                return False
            left = right
        return True

    return compare


def _reads_context(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) or any(True for _ in node.find_all(nodes.Name))


class Piece:
    """Part of a template whose holes and switches are evaluated per email; ``fills``:
    the ``For`` nodes (by id) that become holes filled by a function of the context (it
    appends its segments to the list it is given)."""

    def __init__(
        self,
        env: jinja2.Environment,
        body: Sequence[nodes.Node],
        fills: Mapping[int, Fill],
    ) -> None:
        if env.finalize is not None:
            raise Refused("finalize")
        self._env = env
        self._printed: Callable[[Any], str] = escape if env.autoescape else str
        # (a name or an Evaluate, False) or (Fill, True)
        self._holes: list[tuple[Any, bool]] = []
        self._switches: list[str | Evaluate] = []
        self._fills = fills
        tree = nodes.Template(self._rewrite(list(body), 0), lineno=1)
        tree.set_environment(env)
        tree.set_lineno(1)
        self._template = env.from_string(tree)
        token = secrets.token_hex(8)
        self._markers = [f"nlhole{token}x{k}y" for k in range(len(self._holes))]
        self._cut = re.compile(
            "|".join(re.escape(m) for m in self._markers) if self._markers else "(?!)"
        )
        self._index = {m: k for k, m in enumerate(self._markers)}
        self._forms: dict[tuple[bool, ...], tuple[Step, ...]] = {}
        # Each hole's last value and how it printed (most repeat from email to email).
        self._lasts: list[tuple[Any, str]] = [(None, "")] * len(self._holes)

    def _rewrite(self, body: list[nodes.Node], depth: int) -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for node in body:
            if isinstance(node, nodes.Output):
                out.append(nodes.Output([self._output(child) for child in node.nodes]))
            elif isinstance(node, nodes.If):
                out.append(self._if(node, depth))
            elif isinstance(node, nodes.For) and id(node) in self._fills:
                self._holes.append((self._fills[id(node)], True))
                out.append(nodes.Output([nodes.Name(f"nl_hole{len(self._holes) - 1}", "load")]))
            elif (
                isinstance(node, nodes.Include)
                and isinstance(node.template, nodes.Const)
                and isinstance(node.template.value, str)
                and node.with_context
                and not node.ignore_missing
                and depth < 5
                and self._env.loader is not None
            ):
                source = self._env.loader.get_source(self._env, node.template.value)[0]
                out += self._rewrite(self._env.parse(source).body, depth + 1)
            else:
                raise Refused(type(node).__name__)
        return out

    def _output(self, child: nodes.Expr) -> nodes.Expr:
        if isinstance(child, nodes.TemplateData) or not _reads_context(child):
            return child
        self._holes.append((_plain(self._env, child), False))
        return nodes.Name(f"nl_hole{len(self._holes) - 1}", "load")

    def _if(self, node: nodes.If, depth: int) -> nodes.If:
        test: nodes.Expr = node.test  # type: ignore[assignment]
        if _reads_context(test):
            self._switches.append(_plain(self._env, test))
            test = nodes.Name(f"nl_switch{len(self._switches) - 1}", "load")
        return nodes.If(
            test,
            self._rewrite(node.body, depth),
            [self._if(elif_, depth) for elif_ in node.elif_],
            self._rewrite(node.else_, depth),
        )

    def clear(self) -> None:
        """Forget the rendered forms (a new edition)."""
        self._forms.clear()

    def render(self, context: Mapping[str, Any], out: list[Run]) -> None:
        """Appends to ``out`` the runs of what the piece renders for ``context``;
        ``Failed`` when an expression fails."""
        try:
            key = tuple(
                [
                    bool(context[s] if s.__class__ is str else s(context))  # type: ignore[operator]
                    for s in self._switches
                ]
            )
            steps = self._forms.get(key) or self._form(key)
            holes, printed, undefined = self._holes, self._printed, jinja2.Undefined
            lasts = self._lasts
            for step in steps:
                if step.__class__ is int:
                    holes[step][0](context, out)
                    continue
                plan, fields = step  # type: ignore[misc]
                values = []
                for k in fields:
                    get = holes[k][0]
                    got = context[get] if get.__class__ is str else get(context)
                    last, kind = lasts[k], got.__class__
                    # A text equal to the last email's (same class) prints the same.
                    if (
                        (kind is str or kind is Markup)
                        and kind is last[0].__class__
                        and got == last[0]
                    ):
                        values.append(last[1])
                        continue
                    if isinstance(got, undefined):
                        raise Failed("undefined")
                    shown = printed(got)
                    lasts[k] = (got, shown)
                    values.append(shown)
                out.append((plan, values))
        except Failed:
            raise
        except Exception as exc:  # any error of an expression: Jinja's to report
            raise Failed(str(exc)) from exc

    def _form(self, key: tuple[bool, ...]) -> tuple[Step, ...]:
        """The piece rendered with markers for the switches ``key``, cut at the markers:
        runs of text with the holes in them, and the raw fills (loops) between runs."""
        values: dict[str, Any] = {f"nl_switch{j}": on for j, on in enumerate(key)}
        values.update({f"nl_hole{k}": m for k, m in enumerate(self._markers)})
        text = self._template.render(values)
        steps: list[Step] = []
        parts: list[str] = []
        fields: list[int] = []
        at = 0
        for found in self._cut.finditer(text):
            hole = self._index[found.group(0)]
            parts.append(text[at : found.start()])
            at = found.end()
            if self._holes[hole][1]:  # a loop: the run ends here
                steps += [(Plan(parts), tuple(fields)), hole]
                parts, fields = [], []
            else:
                fields.append(hole)
        parts.append(text[at:])
        steps.append((Plan(parts), tuple(fields)))
        known = tuple(step for step in steps if isinstance(step, int) or step[0].parts != ("",))
        if len(self._forms) < MAX_FORMS:
            self._forms[key] = known
        return known


class Skeleton:
    """A digest template with its sections and cards as pieces (``split_skeleton``)."""

    def __init__(self, outer: Piece, section: Piece, kept: KeptSections | None = None) -> None:
        self.outer = outer
        self.section = section
        self.kept = kept or KeptSections()

    def clear(self) -> None:
        """Forget the forms and the kept sections (a new edition)."""
        self.outer.clear()
        self.section.clear()
        self.kept.clear()

    def render(self, context: Mapping[str, Any]) -> list[Run] | None:
        """The document for ``context`` as runs (``render.segments``), or ``None`` when
        an expression failed (render it with Jinja)."""
        out: list[Run] = []
        try:
            self.outer.render(context, out)
        except Failed:
            return None
        return out


def split_skeleton(env: jinja2.Environment, source: str, cards: Cards) -> Skeleton | None:
    """``source`` (a digest template in ``env``) as a ``Skeleton`` whose item loop is
    filled by ``cards`` (``render.assemble.split_item_loop`` of the same source); ``None``
    when it uses anything the module docstring does not list."""
    tree = env.parse(source)
    items = [
        loop
        for loop in tree.find_all(nodes.For)
        if isinstance(loop.iter, nodes.Getattr) and loop.iter.attr == "items"
    ]
    if len(items) != 1:
        return None
    item_loop = items[0]
    outer_loops = [
        loop
        for loop in tree.find_all(nodes.For)
        if loop is not item_loop and any(n is item_loop for n in loop.find_all(nodes.For))
    ]
    if len(outer_loops) != 1:
        return None
    loop = outer_loops[0]
    if (
        loop.else_
        or loop.test is not None
        or loop.recursive
        or not isinstance(loop.target, nodes.Name)
        or not isinstance(item_loop.iter.node, nodes.Name)  # type: ignore[attr-defined]
        or item_loop.iter.node.name != loop.target.name  # type: ignore[attr-defined]
    ):
        return None
    target = loop.target.name
    card = cards.run
    try:
        sections = _compile(env, loop.iter)  # type: ignore[arg-type]

        def fill_items(c: Mapping[str, Any], out: list[Run]) -> None:
            for item in c[target].items:
                card(item, out)

        section = Piece(env, loop.body, {id(item_loop): fill_items})
        render_section = section.render

        kept = KeptSections()
        add = kept.add

        def fill_sections(c: Mapping[str, Any], out: list[Run]) -> None:
            for one in sections(c):
                add(one, functools.partial(render_one, one), out)

        def render_one(one: Any, runs: list[Run]) -> None:
            render_section({target: one}, runs)

        outer = Piece(env, tree.body, {id(loop): fill_sections})
    except Refused:
        return None
    if not _names(loop.body, item_loop) <= {target}:
        return None  # the section's body reads more than its section (``loop``, say)
    return Skeleton(outer, section, kept)


def _names(body: Sequence[nodes.Node], skip: nodes.For) -> set[str]:
    """Names ``body`` reads, outside ``skip``'s body (the cards' own, checked by
    ``render.assemble``)."""
    found: set[str] = set()
    stack: list[nodes.Node] = list(body)
    while stack:
        node = stack.pop()
        if node is skip:
            stack.append(skip.iter)
            continue
        if isinstance(node, nodes.Name) and node.ctx == "load":
            found.add(node.name)
        stack.extend(node.iter_child_nodes())
    return found
