"""Partial evaluation of :class:`.template.Template`'s ``solve`` for one plan: every guard (an
expression that reads only ``p``) is evaluated, an ``if`` on a guard keeps only the branch
taken, a test that mixes guards with run-time terms keeps only the run-time terms that still
decide it, and ``p = self.plan`` goes. The rest is copied as written, comments included, so a
rendered controller reads like the template minus the options it does not use.

Folding only removes code the plan never runs (and guard terms whose value it knows), so the
specialized code does what the template does with that plan; the tests run both to check it.
"""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache

from . import template
from .template import Plan

WIDTH = 100  # a folded test longer than this is written one term a line


class TemplateError(ValueError):
    """The template breaks a convention the specializer relies on."""


@cache
def _template() -> tuple[list[str], ast.FunctionDef]:
    source = inspect.getsource(template)
    tree = ast.parse(source)
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Template"]
    (solve,) = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "solve"]
    return source.splitlines(), solve


def _reads_p(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "p" for n in ast.walk(node))


def _is_guard(node: ast.AST) -> bool:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return names == {"p"}


def _value(node: ast.expr, plan: Plan) -> bool:
    # the template is the project's own code and a guard reads nothing but the plan
    code = compile(ast.Expression(node), "<guard>", "eval")
    return bool(eval(code, {"__builtins__": {}}, {"p": plan}))


def fold(node: ast.expr, plan: Plan) -> ast.expr | bool:
    """``node`` with its guards evaluated: a bool when the plan decides it, else the run-time
    terms that still matter (in a test: only its truth is kept). Run-time terms next to a guard
    must be free of side effects (a decided ``and``/``or`` drops them)."""
    if not _reads_p(node):
        return node
    if _is_guard(node):
        return _value(node, plan)
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        kept: list[ast.expr] = []
        for term in node.values:
            f = fold(term, plan)
            if isinstance(f, bool):
                if f != is_and:  # a false term decides an `and`, a true one an `or`
                    return f
                continue
            if isinstance(f, ast.BoolOp) and isinstance(f.op, type(node.op)):
                kept += f.values  # a and (b and c) is a and b and c
            else:
                kept.append(f)
        if not kept:
            return is_and
        return kept[0] if len(kept) == 1 else ast.BoolOp(op=node.op, values=kept)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        f = fold(node.operand, plan)
        return (not f) if isinstance(f, bool) else ast.UnaryOp(op=ast.Not(), operand=f)
    if isinstance(node, ast.IfExp) and _is_guard(node.test):
        return fold(node.body if _value(node.test, plan) else node.orelse, plan)
    raise TemplateError(f"template line {node.lineno}: a guard the specializer cannot fold")


def _op(node: ast.BoolOp) -> str:
    return "and" if isinstance(node.op, ast.And) else "or"


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.BoolOp):  # (ast.unparse parenthesizes a third term and later)
        return f" {_op(node)} ".join(_term(v) for v in node.values)
    text = ast.unparse(node)
    return text.replace("'", '"') if '"' not in text else text


def _term(node: ast.expr) -> str:
    """A term of an ``and``/``or``, parenthesized when it binds more loosely."""
    text = _text(node)
    return f"({text})" if isinstance(node, ast.BoolOp | ast.IfExp | ast.Lambda) else text


def _lines(node: ast.expr, indent: int, prefix: str = "") -> list[str]:
    """A term on one line, or when too long (an ``and``/``or``), one line per term."""
    pad = " " * indent
    line = f"{pad}{prefix}{_term(node)}"
    if len(line) <= WIDTH or not isinstance(node, ast.BoolOp):
        return [line]
    out = [f"{pad}{prefix}("]
    for k, term in enumerate(node.values):
        out += _lines(term, indent + 4, f"{_op(node)} " if k else "")
    return [*out, f"{pad})"]


def _header(keyword: str, test: ast.expr, indent: int) -> list[str]:
    pad = " " * indent
    line = f"{pad}{keyword} {_text(test)}:"
    if len(line) <= WIDTH or not isinstance(test, ast.BoolOp):
        return [line]
    inner = [_lines(t, indent + 4, f"{_op(test)} " if k else "") for k, t in enumerate(test.values)]
    return [f"{pad}{keyword} (", *(x for lines in inner for x in lines), f"{pad}):"]


class _Emitter:
    def __init__(self, lines: list[str], plan: Plan) -> None:
        self.lines, self.plan = lines, plan
        self.out: list[str] = []

    def line(self, number: int, dedent: int, indent: int) -> str:
        """Template line ``number`` (1-based) moved from column ``dedent`` to ``indent``."""
        text = self.lines[number - 1].rstrip()
        if not text.strip():
            return ""
        body = text[dedent:] if not text[:dedent].strip() else text.lstrip()
        return " " * indent + body

    def copy(self, first: int, last: int, dedent: int, indent: int) -> None:
        self.out += [self.line(n, dedent, indent) for n in range(first, last + 1)]

    def header_end(self, after: int) -> int:
        """The line that ends a compound statement's header (its colon) at or after ``after``."""
        n = after
        while not re.search(r":\s*(#.*)?$", self.lines[n - 1]):
            n += 1
        return n

    def else_line(self, body_end: int) -> int:
        n = body_end + 1
        while not self.lines[n - 1].strip().startswith(("else", "elif")):
            n += 1
        return n

    def block(self, stmts: list[ast.stmt], indent: int, prev_end: int) -> None:
        col = len(self.lines[stmts[0].lineno - 1]) - len(self.lines[stmts[0].lineno - 1].lstrip())
        for st in stmts:
            mark = len(self.out)
            self.copy(prev_end + 1, st.lineno - 1, col, indent)  # comments before it
            gap_end = len(self.out)
            self.stmt(st, col, indent)
            if len(self.out) == gap_end:  # folded away: so are its comments
                del self.out[mark:]
            prev_end = st.end_lineno or st.lineno

    def stmt(self, st: ast.stmt, col: int, indent: int) -> None:
        if isinstance(st, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "p" for t in st.targets
        ):
            return  # p = self.plan
        if not _reads_p(st):
            self.copy(st.lineno, st.end_lineno or st.lineno, col, indent)
            return
        if isinstance(st, ast.If):
            self.branching(st, col, indent)
        elif isinstance(st, ast.For | ast.While | ast.With | ast.FunctionDef):
            head = st.iter if isinstance(st, ast.For) else None
            if head is not None and _reads_p(head):
                raise TemplateError(f"template line {st.lineno}: a guard in a loop header")
            end = self.header_end(st.lineno)
            self.copy(st.lineno, end, col, indent)
            self.nested(st.body, col, indent, end)
        elif isinstance(st, ast.Try):
            end = self.header_end(st.lineno)
            self.copy(st.lineno, end, col, indent)
            self.nested(st.body, col, indent, end)
            for h in st.handlers:
                end = self.header_end(h.lineno)
                self.copy(h.lineno, end, col, indent)
                self.nested(h.body, col, indent, end)
            if st.orelse or st.finalbody:
                raise TemplateError(f"template line {st.lineno}: try with else or finally")
        else:
            raise TemplateError(f"template line {st.lineno}: a guard outside an if test")

    def nested(self, body: list[ast.stmt], col: int, indent: int, header_end: int) -> None:
        inner = self.lines[body[0].lineno - 1]
        step = len(inner) - len(inner.lstrip()) - col
        self.block(body, indent + step, header_end)

    def branching(self, st: ast.If, col: int, indent: int) -> None:
        test = fold(st.test, self.plan)
        if isinstance(test, bool):  # the plan decides: only the branch taken stays
            taken = st.body if test else st.orelse
            if taken:
                start = self.header_end(st.test.end_lineno or st.lineno)
                if not test:
                    start = self.else_line(st.body[-1].end_lineno or st.lineno)
                self.block(taken, indent, start)
            return
        if self.lines[st.lineno - 1].lstrip().startswith("elif"):
            raise TemplateError(f"template line {st.lineno}: a run-time elif")
        end = self.header_end(st.test.end_lineno or st.lineno)
        self.out += _header("if", test, indent)
        self.nested(st.body, col, indent, end)
        if st.orelse:
            at = self.else_line(st.body[-1].end_lineno or st.lineno)
            self.copy(at, at, col, indent)
            self.nested(st.orelse, col, indent, at)


def _tidy(lines: list[str]) -> list[str]:
    """No blank line at the start of a block, none doubled."""
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1] or out[-1].endswith(":")):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


@cache
def specialize(plan: Plan) -> str:
    """The body of ``solve`` for ``plan`` (at column 0): the template with its guards folded."""
    lines, solve = _template()
    emitter = _Emitter(lines, plan)
    emitter.block(solve.body, 0, emitter.header_end(solve.lineno))
    return "\n".join(_tidy(emitter.out)) + "\n"
