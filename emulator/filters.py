"""The Compute Engine list ``filter`` language (the documented subset).

Supported: ``field OP value`` with ``=``, ``!=``, ``>``, ``<``, ``>=``, ``<=``, ``:`` (substring,
``:*`` = present), ``eq``/``ne`` (RE2-style full-match regular expressions); nested fields with
dots (``labels.env``, ``scheduling.automaticRestart``); parenthesised expressions, implicit AND,
explicit ``AND``/``OR``/``NOT``.
"""

import re

from .errors import ApiError

_OPS = ("!=", ">=", "<=", "=", ">", "<", ":")


class FilterError(ApiError):
    def __init__(self, text, why):
        super().__init__(400, "invalid", "Invalid value for field 'filter': '%s'. %s" % (text, why))


def _tokens(text):
    i, out = 0, []
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            out.append(("P", char))
            i += 1
        elif char in "\"'":
            end = i + 1
            buf = []
            while end < len(text) and text[end] != char:
                if text[end] == "\\" and end + 1 < len(text) and text[end + 1] == char:
                    end += 1
                buf.append(text[end])
                end += 1
            if end >= len(text):
                raise FilterError(text, "Unterminated string.")
            out.append(("S", "".join(buf)))
            i = end + 1
        else:
            for op in _OPS:
                if text.startswith(op, i):
                    out.append(("O", op))
                    i += len(op)
                    break
            else:
                start = i
                while i < len(text) and not text[i].isspace() and text[i] not in "()" and \
                        not any(text.startswith(op, i) for op in _OPS):
                    i += 1
                out.append(("W", text[start:i]))
    return out


class _Parser:
    def __init__(self, text):
        self.text = text
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else (None, None)

    def take(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def parse(self):
        if not self.toks:
            return lambda item: True
        node = self.or_expr()
        if self.pos != len(self.toks):
            raise FilterError(self.text, "Unexpected token '%s'." % self.peek()[1])
        return node

    def or_expr(self):
        nodes = [self.and_expr()]
        while self.peek() == ("W", "OR"):
            self.take()
            nodes.append(self.and_expr())
        if len(nodes) == 1:
            return nodes[0]
        return lambda item: any(node(item) for node in nodes)

    def and_expr(self):
        nodes = [self.unary()]
        while True:
            kind, value = self.peek()
            if kind is None or (kind == "P" and value == ")") or (kind, value) == ("W", "OR"):
                break
            if (kind, value) == ("W", "AND"):
                self.take()
            nodes.append(self.unary())
        if len(nodes) == 1:
            return nodes[0]
        return lambda item: all(node(item) for node in nodes)

    def unary(self):
        kind, value = self.peek()
        if (kind, value) == ("W", "NOT") or (kind == "W" and value == "-"):
            self.take()
            inner = self.unary()
            return lambda item: not inner(item)
        if (kind, value) == ("P", "("):
            self.take()
            node = self.or_expr()
            if self.take() != ("P", ")"):
                raise FilterError(self.text, "Unbalanced parentheses.")
            return node
        return self.comparison()

    def comparison(self):
        kind, field = self.take()
        if kind != "W":
            raise FilterError(self.text, "Expected a field name.")
        negate = field.startswith("-")
        field = field.lstrip("-")
        kind, op = self.take()
        if kind == "W" and op in ("eq", "ne"):
            pass
        elif kind != "O":
            raise FilterError(self.text, "Expected an operator after '%s'." % field)
        kind, value = self.take()
        if kind not in ("W", "S"):
            raise FilterError(self.text, "Expected a value after '%s %s'." % (field, op))
        test = _comparator(self.text, field, op, value)
        if negate:
            return lambda item: not test(item)
        return test


def _lookup(item, path):
    values = [item]
    for part in path.split("."):
        nxt = []
        for value in values:
            if isinstance(value, list):
                value = [v.get(part) for v in value if isinstance(v, dict)]
                nxt.extend(v for v in value if v is not None)
            elif isinstance(value, dict) and part in value:
                nxt.append(value[part])
        values = nxt
    flat = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _comparator(text, field, op, value):
    if op in ("eq", "ne"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise FilterError(text, "Invalid regular expression: %s." % exc) from exc

        def match(item):
            return any(pattern.fullmatch(_text(v)) for v in _lookup(item, field))
        return match if op == "eq" else (lambda item: not match(item))

    def equal(actual):
        if _text(actual) == value:
            return True
        if isinstance(actual, str) and isinstance(value, str) and actual.lower() == value.lower() \
                and actual.isupper():
            return True
        left, right = _number(actual), _number(value)
        return left is not None and right is not None and left == right

    if op == "=":
        return lambda item: any(equal(v) for v in _lookup(item, field))
    if op == "!=":
        return lambda item: not any(equal(v) for v in _lookup(item, field))
    if op == ":":
        if value == "*":
            return lambda item: bool(_lookup(item, field))
        return lambda item: any(value in _text(v) if isinstance(v, str) else equal(v)
                                for v in _lookup(item, field))

    def ordered(actual):
        left, right = _number(actual), _number(value)
        if left is None or right is None:
            left, right = _text(actual), value
        return {">": left > right, "<": left < right, ">=": left >= right,
                "<=": left <= right}[op]

    return lambda item: any(ordered(v) for v in _lookup(item, field))


def compile_filter(text):
    """A predicate for ``text`` (empty text matches everything); raises FilterError."""
    return _Parser(text or "").parse()
