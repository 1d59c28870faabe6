"""Render templates into pieces of text that know which value they hold.

A rendered block is a list of :class:`Piece`: plain text, a PII value (``label`` set) or a hard
negative (``negative`` set). Offsets are only computed when a document is assembled, so every
transformation here (quoting, indenting, fencing) keeps labels exact by construction.
"""

from __future__ import annotations

import random
import re
from typing import NamedTuple

from pii.synth import syntax
from pii.synth.syntax import CommentStyle, Dialect, cased
from pii.synth.templates import PERSON_SLOTS, SLOT, Template
from pii.synth.values import (
    ENV_LOOKUP,
    KEY_PROVIDERS,
    NEGATIVE_KINDS,
    SLOT_LABELS,
    Person,
    ValueFactory,
)


class Piece(NamedTuple):
    text: str
    label: str | None = None  # entity of a PII value
    negative: str | None = None  # kind of a hard negative
    held_out: bool = False  # a value of a held-out family (templates.HELD_OUT_FAMILIES)


def text_of(pieces: list[Piece]) -> str:
    return "".join(p.text for p in pieces)


def indent(pieces: list[Piece], prefix: str) -> list[Piece]:
    """Prefix every non-empty line with ``prefix``. A value that starts a line keeps its span
    (the prefix goes before it); a value spanning lines gets the prefix on its inner lines."""
    if not prefix:
        return list(pieces)
    out: list[Piece] = []
    at_line_start = True
    for piece in pieces:
        rebuilt = []
        for i, part in enumerate(piece.text.split("\n")):
            if i:
                rebuilt.append("\n")
                at_line_start = True
            if part:
                if at_line_start and i == 0:
                    out.append(Piece(prefix))
                elif at_line_start:
                    rebuilt.append(prefix)
                rebuilt.append(part)
                at_line_start = False
        out.append(piece._replace(text="".join(rebuilt)))
    return out


def _lit(text: str) -> Piece:
    return Piece(text)


def _joined(groups: list[list[Piece]], separator: str) -> list[Piece]:
    out: list[Piece] = []
    for i, group in enumerate(groups):
        if i:
            out.append(_lit(separator))
        out.extend(group)
    return out


def _with_marker(template: str, marker: str, inner: list[Piece], **literals: str) -> list[Piece]:
    """``template`` (str.replace markers) with ``marker`` replaced by the pieces ``inner``."""
    for key, value in literals.items():
        template = template.replace("{" + key + "}", value)
    before, sep, after = template.partition("{" + marker + "}")
    if not sep:
        raise ValueError(f"format {template!r} lacks {{{marker}}}")
    return [_lit(before), *inner, _lit(after)]


_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_YAML_PLAIN = re.compile(r"[A-Za-z0-9_./+~-][^:#'\"{}\[\],&*!|>%@`\n]*\Z")
_YAML_KEYWORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "~"})


class BlockRenderer:
    """Fills the slots of templates for one document: values are drawn from ``rng``; people are
    shared by the whole document (the author of a header may reappear in setup.py)."""

    def __init__(self, factory: ValueFactory, rng: random.Random) -> None:
        self.factory = factory
        self.rng = rng
        self.people: dict[str, Person] = {}
        self._values: dict[str, Piece] = {}

    # -- slots -----------------------------------------------------------------------------
    def new_block(self) -> None:
        """Forget non-person values: the next block draws fresh ones."""
        self._values = {}

    def expand(self, pattern: str, newline: str = "\n") -> list[Piece]:
        """The pattern with slots filled; ``newline`` joins the lines of multi-line values."""
        pieces: list[Piece] = []
        cursor = 0
        for match in SLOT.finditer(pattern):
            if match.start() > cursor:
                pieces.append(_lit(pattern[cursor : match.start()]))
            value = self._slot(match.group(1), match.group(2) or "1")
            if "\n" in value.text and newline != "\n":
                value = value._replace(text=value.text.replace("\n", newline))
            pieces.append(value)  # an empty hard negative stays, so that it is counted
            cursor = match.end()
        if cursor < len(pattern):
            pieces.append(_lit(pattern[cursor:]))
        return pieces

    def _slot(self, base: str, index: str) -> Piece:
        key = f"{base}.{index}"
        if key in self._values:
            return self._values[key]
        rng, factory = self.rng, self.factory
        if base in PERSON_SLOTS:
            if index not in self.people:
                self.people[index] = factory.person(rng)
            person = self.people[index]
            if base == "EMAIL_OBF":
                text = factory.obfuscated_email(person.email, rng)
            else:
                text = {
                    "NAME": person.name,
                    "GIVEN": person.given,
                    "EMAIL": person.email,
                    "USERNAME": person.username,
                }[base]
        elif base in ("IP", "IPV4", "IPV6"):
            text = {
                "IP": factory.public_ip,
                "IPV4": factory.public_ipv4,
                "IPV6": factory.public_ipv6,
            }[base](rng)
        elif base in ("PASSWORD", "PASSWORD_URL"):
            text = factory.password(rng, url_safe=base == "PASSWORD_URL")
        elif base == "KEY":
            providers, weights = zip(*KEY_PROVIDERS)
            text = factory.provider_key(rng, rng.choices(providers, weights=weights)[0])
        elif base.startswith("KEY_"):
            text = factory.provider_key(rng, base[4:].lower())
        elif base in SLOT_LABELS:
            raise ValueError(f"slot «{base}» has no value generator")
        else:
            piece = (
                Piece(factory.negative(base, rng), negative=base)
                if base in NEGATIVE_KINDS
                else Piece(factory.filler(base, rng))
            )
            self._values[key] = piece
            return piece
        piece = Piece(text, label=SLOT_LABELS[base])
        self._values[key] = piece
        return piece

    # -- text ------------------------------------------------------------------------------
    def text(self, template: Template, style: CommentStyle) -> list[Piece]:
        """Prose lines as a comment (or plain lines when the style has no prefix)."""
        lines: list[list[Piece]] = []
        if style.open is not None:
            lines.append([_lit(style.open)])
        for pattern in template.body:
            inner = self.expand(pattern)
            if not inner:
                lines.append([_lit(style.prefix.rstrip())])
            else:
                lines.append([_lit(style.prefix), *inner, _lit(style.suffix)])
        if style.close is not None:
            lines.append([_lit(style.close)])
        return _joined(lines, "\n")

    # -- raw -------------------------------------------------------------------------------
    def raw(self, template: Template) -> list[Piece]:
        """Fixed-format lines; multi-line values continue at the line's indentation."""
        lines = []
        for pattern in template.body:
            lead = pattern[: len(pattern) - len(pattern.lstrip())]
            lines.append(self.expand(pattern, newline="\n" + lead))
        return _joined(lines, "\n")

    # -- code ------------------------------------------------------------------------------
    def code(self, template: Template, dialect: Dialect) -> list[Piece]:
        """Statements in ``dialect``; ``kv`` templates become a map or one assignment per key."""
        quote = self.rng.choice(dialect.quotes) if dialect.quotes else ""
        statements = template.body
        if template.kind == "kv":
            section, pairs = template.body
            if dialect.map is not None and self.rng.random() < 0.6:
                statements = (("assign", section, ("map", pairs)),)
            else:
                statements = tuple(("assign", f"{section}_{key}", node) for key, node in pairs)
        lines = [self._statement(statement, dialect, quote) for statement in statements]
        return _joined(lines, "\n")

    def _statement(self, statement: tuple, dialect: Dialect, quote: str) -> list[Piece]:
        kind = statement[0]
        if kind == "call":
            fn = ".".join(
                cased(part, dialect.fn_case or dialect.case) if "«" not in part else part
                for part in statement[1].split(".")
            )
            args = _joined([self._node(a, dialect, quote) for a in statement[2]], dialect.arg_sep)
            return _with_marker(dialect.call, "args", args, fn=text_of(self.expand(fn)))
        if kind == "fixture":
            _, name, rows, pairs = statement
            items = [
                self._node(
                    ("map", tuple((k, (n[0], n[1].replace(".#", f".{row}"))) for k, n in pairs)),
                    dialect,
                    quote,
                )
                for row in range(1, rows + 1)
            ]
            open_, sep, close = dialect.list
            body = _joined(items, sep.rstrip() + "\n    ")
            value = [_lit(open_.rstrip() + "\n    "), *body, _lit("\n" + close.lstrip())]
            return self._assignment(name, value, dialect, dialect.assign_list)
        _, name, node = statement
        override = {"map": dialect.assign_map, "l": dialect.assign_list}.get(node[0])
        return self._assignment(name, self._node(node, dialect, quote), dialect, override)

    def _assignment(
        self, name: str, value: list[Piece], dialect: Dialect, override: str | None
    ) -> list[Piece]:
        form = override or self.rng.choice(dialect.assign)
        return _with_marker(form, "value", value, name=cased(name, dialect.case))

    def _node(self, node: tuple, dialect: Dialect, quote: str) -> list[Piece]:
        kind, value = node
        q = quote or '"'  # where quotes are needed even in dialects with bare strings
        if kind == "s":
            return [_lit(quote), *self.expand(value), _lit(quote)]
        if kind == "n":
            inner = self.expand(value)
            return [_lit(q), *inner, _lit(q)] if dialect.typed else inner
        if kind == "m":
            if dialect.multiline is not None:
                open_, close = dialect.multiline
                return [_lit(open_), *self.expand(value), _lit(close)]
            return [_lit(q), *self.expand(value, newline="\\n"), _lit(q)]
        if kind == "e":
            return [
                Piece(dialect.env.replace("{var}", value).replace("{q}", q), negative=ENV_LOOKUP)
            ]
        if kind == "l":
            open_, sep, close = dialect.list
            return [
                _lit(open_),
                *_joined([self._node(("s", p), dialect, q) for p in value], sep),
                _lit(close),
            ]
        open_, entry, sep, close = dialect.map
        entries = []
        for key, child in value:
            shown = key
            bare_key = not any(form in entry for form in ("{q}{k}{q}", '"{k}"', ":{k}"))
            if bare_key and not key.replace("_", "a").isalnum():
                shown = f"{q}{key}{q}"
            entries.append(
                _with_marker(entry, "v", self._node(child, dialect, quote), k=shown, q=q)
            )
        return [_lit(open_), *_joined(entries, sep), _lit(close)]

    # -- kv in config formats ----------------------------------------------------------------
    def config(self, template: Template, fmt: str, fragment: bool = False) -> list[Piece]:
        """A ``kv`` template in a config format; ``fragment``: a JSON member, not a document."""
        section, pairs = template.body
        rng = self.rng
        if fmt in ("yaml", "compose", "k8s"):
            return self._yaml(section, pairs, fmt)
        if fmt == "json":
            members = [[_lit(f'"{key}": '), *self._json_value(node)] for key, node in pairs]
            inner = _joined([[_lit("    "), *m] for m in members], ",\n")
            if fragment:
                return [_lit(f'  "{section}": {{\n'), *inner, _lit("\n  },")]
            return [_lit(f'{{\n  "{section}": {{\n'), *inner, _lit("\n  }\n}")]
        if fmt == "xml":
            lines = [[_lit(f"<{section}>")]]
            for key, node in pairs:
                for item in self._flat_values(node, "\n", xml=True):
                    lines.append([_lit(f"  <{key}>"), *item, _lit(f"</{key}>")])
            lines.append([_lit(f"</{section}>")])
            return _joined(lines, "\n")
        lines = []
        if fmt in ("toml", "ini"):
            lines.append([_lit(f"[{section}]")])
        separator = rng.choice((" = ", "=")) if fmt in ("ini", "properties") else " = "
        for key, node in pairs:
            if fmt == "toml":
                lines.append([_lit(f"{key} = "), *self._toml_value(node)])
                continue
            if fmt == "dotenv":
                name, separator = f"{section}_{key}".upper(), "="
            elif fmt == "shell":
                name, separator = "export " + f"{section}_{key}".upper(), "="
            elif fmt == "properties":
                name = f"{section}.{key}"
            else:
                name = key
            newline = "\n    " if fmt == "ini" else "\\n"
            value = _joined(self._flat_values(node, newline), ",")
            quote = (
                '"'
                if fmt in ("dotenv", "shell") and (rng.random() < 0.5 or " " in text_of(value))
                else ""
            )
            lines.append([_lit(name + separator + quote), *value, _lit(quote)])
        return _joined(lines, "\n")

    def _flat_values(self, node: tuple, newline: str, xml: bool = False) -> list[list[Piece]]:
        """The values of a node as plain pieces (lists give one entry per item)."""
        kind, value = node
        if kind == "e":
            return [[Piece("${" + value + "}", negative=ENV_LOOKUP)]]
        patterns = value if kind == "l" else (value,)
        items = [self.expand(p, newline=newline) for p in patterns]
        if xml:
            items = [
                [
                    p if p.label or p.negative else p._replace(text=p.text.translate(_XML_ESCAPES))
                    for p in item
                ]
                for item in items
            ]
        return items

    def _json_value(self, node: tuple) -> list[Piece]:
        if node[0] == "n":
            return self._flat_values(node, "\\n")[0]
        items = [[_lit('"'), *item, _lit('"')] for item in self._flat_values(node, "\\n")]
        if node[0] == "l":
            return [_lit("["), *_joined(items, ", "), _lit("]")]
        return items[0]

    def _toml_value(self, node: tuple) -> list[Piece]:
        kind = node[0]
        if kind == "n":
            return self._flat_values(node, "\n")[0]
        if kind == "m":
            return [_lit('"""\n'), *self._flat_values(node, "\n")[0], _lit('"""')]
        items = [[_lit('"'), *item, _lit('"')] for item in self._flat_values(node, "\\n")]
        if kind == "l":
            return [_lit("["), *_joined(items, ", "), _lit("]")]
        return items[0]

    def _yaml(self, section: str, pairs: tuple, fmt: str) -> list[Piece]:
        if fmt == "compose":
            head, pad = f"services:\n  {section}:\n    environment:", "      "
            pairs = tuple((f"{section}_{key}".upper(), node) for key, node in pairs)
        elif fmt == "k8s":
            head = (
                f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {section.replace('_', '-')}\n"
                "type: Opaque\nstringData:"
            )
            pad = "  "
        else:
            head, pad = f"{section}:", "  "
        lines = [[_lit(head)]]
        for key, node in pairs:
            kind = node[0]
            if kind == "m":
                lines.append(
                    [_lit(f"{pad}{key}: |\n{pad}  "), *self._flat_values(node, f"\n{pad}  ")[0]]
                )
            elif kind == "l" and fmt == "yaml":
                lines.append([_lit(f"{pad}{key}:")])
                lines += [
                    [_lit(f"{pad}  - "), *self._yaml_scalar(item)]
                    for item in self._flat_values(node, "\\n")
                ]
            else:
                value = _joined(self._flat_values(node, "\\n"), ",")
                lines.append(
                    [_lit(f"{pad}{key}: "), *(value if kind == "n" else self._yaml_scalar(value))]
                )
        return _joined(lines, "\n")

    def _yaml_scalar(self, value: list[Piece]) -> list[Piece]:
        shown = text_of(value)
        if (
            _YAML_PLAIN.match(shown)
            and shown.lower() not in _YAML_KEYWORDS
            and not shown.endswith(" ")
            and self.rng.random() < 0.7
        ):
            return value
        quote = self.rng.choice("\"'")
        return [_lit(quote), *value, _lit(quote)]

    # -- putting a block of one format into a host of another -------------------------------------
    def embed(self, pieces: list[Piece], fmt: str, host: str) -> list[Piece]:
        """``pieces`` written in ``fmt`` as they would appear inside a ``host`` document."""
        if fmt == host or (host == "yaml" and fmt in ("compose", "k8s")):
            return pieces
        fence = syntax.FENCE_NAMES.get(fmt, fmt)
        if host == "markdown":
            return [_lit(f"```{fence}\n"), *pieces, _lit("\n```")]
        if host == "restructuredtext":
            return [_lit(f".. code-block:: {fence}\n\n"), *indent(pieces, "   ")]
        if host == "shell" and fmt in syntax.HEREDOC_FILES:
            return [_lit(f"cat > {syntax.HEREDOC_FILES[fmt]} <<'EOF'\n"), *pieces, _lit("\nEOF")]
        if host == "python" and fmt in syntax.HEREDOC_FILES:
            file_words = re.sub(r"[^A-Za-z]+", "_", syntax.HEREDOC_FILES[fmt]).strip("_")
            name = cased(f"{file_words}_text", "upper")
            return [_lit(f'{name} = """\\\n'), *pieces, _lit('\n"""')]
        if fmt == "shell" and host == "yaml":
            return [_lit("run: |\n"), *indent(pieces, "  ")]
        if fmt == "shell" and host == "makefile":
            return [
                _lit(f"{self.rng.choice(('deploy', 'release', 'setup'))}:\n"),
                *indent(pieces, "\t"),
            ]
        if fmt == "shell" and host == "dockerfile":
            return indent(pieces, "RUN ")
        raise ValueError(f"cannot embed {fmt} in a {host} document")


def can_embed(fmt: str, host: str) -> bool:
    """Whether :meth:`BlockRenderer.embed` can put a ``fmt`` block into a ``host`` document."""
    return (
        fmt == host
        or host in ("markdown", "restructuredtext")
        or (host == "yaml" and fmt in ("compose", "k8s"))
        or (host in ("shell", "python") and fmt in syntax.HEREDOC_FILES)
        or (fmt == "shell" and host in ("yaml", "makefile", "dockerfile"))
    )
