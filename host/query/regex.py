"""`_regex`: a portable, bounded subset of regular expressions.

The same pattern runs as PostgreSQL's `~`, as Python's `re` (in memory, and on SQLite as the
`exthost_regexp` function registered on every connection), so a pattern is accepted only if
it means the same to both and cannot backtrack catastrophically: literals, `.`, classes
(`[a-z]`, `\\d`, `\\w`, `\\s` and their negations), `^`, `$`, groups, `|`, and the
quantifiers `* + ? {m,n}` (bounds up to 255); escapes are those classes, `\\n`, `\\t` and a
backslash before punctuation - but no group repeated more than once that itself holds a
quantifier or an alternative (`(a+)+`, `(a|aa)+`), no look-around, back-reference, flag or
named group. At most `MAX_PATTERN` characters; a value longer than `MAX_SUBJECT` characters never matches.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from host.errors import InvalidQuery

try:  # Python 3.11+: the parser moved
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _c
    import sre_parse as _p

MAX_PATTERN = 256
MAX_REPEAT = 255
"""PostgreSQL's largest `{m,n}` bound."""
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = frozenset("dDwWsSnt") | frozenset(".\\*+?()[]{}|^$-/")
MAX_SUBJECT = 100_000

_CATEGORIES = {
    _c.CATEGORY_DIGIT, _c.CATEGORY_NOT_DIGIT, _c.CATEGORY_WORD, _c.CATEGORY_NOT_WORD,
    _c.CATEGORY_SPACE, _c.CATEGORY_NOT_SPACE,
}
_ANCHORS = {_c.AT_BEGINNING, _c.AT_END}
_SIMPLE = {_c.LITERAL, _c.NOT_LITERAL, _c.ANY}


def check_pattern(pattern: str) -> str:
    """`pattern` if it is in the portable, bounded subset; `InvalidQuery` saying why not."""
    if len(pattern) > MAX_PATTERN:
        raise InvalidQuery(f'Invalid query. "_regex" pattern is longer than {MAX_PATTERN} characters')
    for escaped in _ESCAPE.findall(pattern):
        if escaped not in _ESCAPES:
            raise InvalidQuery(f'Invalid query. "_regex" does not support "\\{escaped}" (escapes: \\d \\D \\w '
                               '\\W \\s \\S \\n \\t, and a backslash before a punctuation character)')
    try:
        parsed = _p.parse(pattern)
    except re.error as exc:
        raise InvalidQuery(f'Invalid query. "_regex" pattern is not a valid regular expression: {exc}') from None
    _walk(list(parsed), nested_unbounded=False)
    return pattern


def _walk(items: list[Any], nested_unbounded: bool) -> bool:
    """Check a parsed pattern; whether it holds a quantifier or an alternative."""
    unbounded = False
    for op, arg in items:
        if op in _SIMPLE:
            continue
        if op is _c.IN:
            for inner, value in arg:
                if inner is _c.CATEGORY and value not in _CATEGORIES:
                    raise _unsupported()
                if inner not in (_c.LITERAL, _c.RANGE, _c.NEGATE, _c.CATEGORY):
                    raise _unsupported()
        elif op is _c.AT:
            if arg not in _ANCHORS:
                raise _unsupported()
        elif op is _c.CATEGORY:
            if arg not in _CATEGORIES:
                raise _unsupported()
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            low, high, body = arg
            if low > MAX_REPEAT or (high is not _c.MAXREPEAT and high > MAX_REPEAT):
                raise InvalidQuery(f'Invalid query. "_regex" repeat counts go up to {MAX_REPEAT}')
            inner = _walk(list(body), nested_unbounded)
            if inner and (high is _c.MAXREPEAT or high > 1):
                raise InvalidQuery('Invalid query. "_regex" pattern repeats a group that holds a quantifier or '
                                   'an alternative (such as "(a+)+" or "(a|aa)+"): it could take exponential time')
            unbounded = True
        elif op is _c.SUBPATTERN:
            _group, add_flags, del_flags, body = arg
            if add_flags or del_flags:
                raise _unsupported()
            unbounded = _walk(list(body), nested_unbounded) or unbounded
        elif op is _c.BRANCH:
            for branch in arg[1]:
                _walk(list(branch), nested_unbounded)
            unbounded = True
        else:
            raise _unsupported()
    return unbounded


def _unsupported() -> InvalidQuery:
    return InvalidQuery('Invalid query. "_regex" supports literals, ".", classes, \\d \\w \\s, ^, $, groups, "|" '
                        'and quantifiers only (no look-around, back-reference, flag or named group)')


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(check_pattern(pattern))


def regex_search(pattern: Any, subject: Any) -> bool:
    """Whether `subject` (a string of at most `MAX_SUBJECT` characters) matches `pattern`."""
    if not isinstance(subject, str) or not isinstance(pattern, str) or len(subject) > MAX_SUBJECT:
        return False
    try:
        return _compiled(pattern).search(subject) is not None
    except InvalidQuery:
        return False


def sqlite_regexp(pattern: Any, subject: Any) -> int:
    """`exthost_regexp(pattern, subject)` on SQLite connections."""
    return 1 if regex_search(pattern, subject) else 0


def register_sqlite(dbapi_connection: Any) -> None:
    dbapi_connection.create_function("exthost_regexp", 2, sqlite_regexp, deterministic=True)
