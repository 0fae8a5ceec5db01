"""Swift and Markdown literals: the escaping filters every model or config string passes through
on its way into the generated package (Jinja filters of :mod:`edgekit.package.render`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

SWIFT_KEYWORDS = frozenset(
    """associatedtype borrowing class consuming deinit enum extension fileprivate func import init
    inout internal let nonisolated open operator precedencegroup private protocol public rethrows
    static struct subscript typealias var break case catch continue default defer do else
    fallthrough for guard if in repeat return throw switch where while Any as await false is nil
    self Self super throws true try async actor any some macro package willSet didSet get set
    mutating nonmutating override required convenience dynamic final lazy optional indirect
    weak unowned prefix postfix infix left right none Type Protocol copy consume discard
    isolated each then _""".split()
)
#: Names an enum case or static member must not take (members our generated types already have).
SWIFT_MEMBER_NAMES = frozenset(
    """rawValue allCases hashValue hash description debugDescription init encode decode
    displayName index id label probability probabilities allLabels RawValue AllCases""".split()
)
SWIFT_RESERVED = SWIFT_KEYWORDS | SWIFT_MEMBER_NAMES


def swift_string(text: Any) -> str:
    """A Swift string literal (with quotes) holding ``text`` exactly.

    Quotes, backslashes (so no interpolation), control characters and every non-ASCII character are
    written as escapes; lone surrogates (not valid Unicode scalars) become U+FFFD.
    """
    out = ['"']
    for ch in str(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\u{FFFD}")
        else:
            out.append(f"\\u{{{code:X}}}")
    out.append('"')
    return "".join(out)


def _swift_value(text: str) -> str:
    """The string Swift sees for ``text``: lone surrogates replaced, canonical (NFC) form."""
    fixed = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in str(text))
    return unicodedata.normalize("NFC", fixed)


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", str(text))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.findall(r"[A-Za-z0-9]+", folded)


def swift_identifier(text: Any, *, upper: bool = False, fallback: str = "value") -> str:
    """An ASCII Swift identifier derived from ``text`` (lowerCamelCase, or UpperCamelCase).

    Never a keyword or a member name of the generated types (those get a trailing ``_``); a leading
    digit gets a leading ``_``; text with no ASCII letters or digits gives ``fallback``.
    """
    words = _ascii_words(str(text))
    if not words:
        ident = fallback
    else:
        parts = []
        for i, w in enumerate(words):
            if i == 0 and not upper:
                parts.append(w[0].lower() + w[1:] if not w.isupper() or len(w) == 1 else w.lower())
            else:
                parts.append(w[0].upper() + w[1:])
        ident = "".join(parts)
    if ident[0].isdigit():
        ident = "_" + ident
    if ident in SWIFT_RESERVED:
        ident += "_"
    return ident


def unique_identifiers(texts: list[str], *, upper: bool = False, fallback: str = "value") -> list[str]:
    """:func:`swift_identifier` of each text, made unique with numeric suffixes (stable order)."""
    seen: set[str] = set()
    result = []
    for i, text in enumerate(texts):
        ident = swift_identifier(text, upper=upper, fallback=f"{fallback}{i}")
        base, n = ident, 2
        while ident in seen:
            ident = f"{base}_{n}"
            n += 1
        seen.add(ident)
        result.append(ident)
    return result


def doc_text(text: Any) -> str:
    """Text safe inside a ``///`` comment line: one line, no control/format/separator characters."""
    out = []
    for ch in str(text):
        cat = unicodedata.category(ch)
        if ch in "\n\r\t" or cat in ("Zl", "Zp"):
            out.append(" ")
        elif cat.startswith("C"):  # control, format (bidi overrides), surrogate, private, unassigned
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out).strip()


def md_text(text: Any) -> str:
    """Text safe in Markdown prose and table cells."""
    s = doc_text(text)
    return re.sub(r"([\\`*_\[\]{}<>|#!~])", r"\\\1", s)


def md_code(text: Any) -> str:
    """Inline Markdown code span holding ``text`` (a backtick fence longer than any run inside)."""
    s = doc_text(text)
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def swift_double(value: float) -> str:
    """A Swift Double literal (finite values only)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    text = repr(value)
    return text if ("." in text or "e" in text or "inf" in text) else text + ".0"


def percent(fraction: float) -> str:
    """A fraction as a percentage in plain words: ``0.9929`` → ``"99.3 %"``, ``1.0`` → ``"100 %"``."""
    text = f"{fraction * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text} %"
