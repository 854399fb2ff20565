"""Chinese word segmentation for the catalog index and for queries (jieba).

Both sides go through the same normalisation so that SQLite FTS5 (unicode61 tokenizer) and
PostgreSQL (``simple`` configuration) see identical space-separated tokens: lower case, letters,
digits and CJK characters only. Anything else (punctuation, ``_``, ``-``, ``.``) separates tokens,
because the two engines' own parsers disagree on such characters (PostgreSQL keeps ``3.5`` whole,
FTS5 splits it).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

_SEPARATOR = re.compile(r"[\W_]+")
# Function words a user types in a query that carry no meaning for matching.
_QUERY_STOPWORDS = frozenset(["的", "了", "和", "与", "及", "或", "在", "是", "等", "之", "其"])
_lock = threading.Lock()
_tokenizer: Any = None

Group = list[tuple[str, ...]]


def _jieba() -> Any:
    """jieba's dictionary takes about a second to load: do it once, on first use, without chatter."""
    global _tokenizer  # noqa: PLW0603 - one process-wide tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def _clean(pieces: Iterable[str]) -> Iterator[str]:
    for piece in pieces:
        for token in _SEPARATOR.split(piece.lower()):
            if token:
                yield token


def index_tokens(*texts: str) -> str:
    """Space-separated search tokens of the texts (fine and coarse words: 公交 站点 公交站点)."""
    tokenizer = _jieba()
    out: list[str] = []
    for text in texts:
        if text:
            out.extend(_clean(tokenizer.cut_for_search(text)))
    return " ".join(out)


def query_groups(query: str) -> list[Group]:
    """The query as groups that must all match; a group matches if any of its alternatives does,
    an alternative if all its tokens do.

    Each word of the precise segmentation is one group: the word itself, or else all its shorter
    dictionary words together (``公交站点`` → ``[("公交站点",), ("公交", "站点")]``), so that a
    document segmented differently in its own context is still found.
    """
    tokenizer = _jieba()
    groups: list[Group] = []
    for word in _clean(tokenizer.cut(query)):
        if word in _QUERY_STOPWORDS and len(query) > len(word):
            continue
        parts = tuple(t for t in _clean(tokenizer.cut_for_search(word)) if t != word and len(t) == 2)
        group: Group = [(word,), parts] if parts else [(word,)]
        if group not in groups:
            groups.append(group)
    return groups


def warm_up() -> None:
    """Loads the dictionary now (servers call it at start-up so the first search is not slow)."""
    _jieba()
