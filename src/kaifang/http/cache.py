"""Answers about open data, kept encoded in memory: a published version never changes, so a page
of its rows or an aggregate, once computed for a query, is the same bytes for every caller who may
read the version (what the gate decides is still checked on every request, before the cache).

Only open data is cached: answers from conditional data carry per-grant pseudonyms and are logged
with an audit event each, so they are computed per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

from fastapi import Request

_lock = threading.Lock()
# A single answer larger than this is not worth the room it takes.
MAX_ENTRY_SHARE = 16


@dataclass(frozen=True)
class Answer:
    body: bytes
    sha256: str
    rows: int
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


class AnswerCache:
    """Least recently used answers up to ``max_bytes`` in all."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, Answer] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Answer | None:
        with self._lock:
            answer = self._data.get(key)
            if answer is not None:
                self._data.move_to_end(key)
            return answer

    def put(self, key: Hashable, answer: Answer) -> None:
        size = len(answer.body)
        if size * MAX_ENTRY_SHARE > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= len(old.body)
            self._data[key] = answer
            self._size += size
            while self._size > self.max_bytes and self._data:
                _key, evicted = self._data.popitem(last=False)
                self._size -= len(evicted.body)


def answer_cache_of(request: Request) -> AnswerCache | None:
    """The process's cache of open-data answers, or None when switched off (``api_cache_mb = 0``)."""
    state = request.app.state
    cache: AnswerCache | None = getattr(state, "answer_cache", None)
    if cache is None:
        megabytes = state.settings.api_cache_mb
        if megabytes <= 0:
            return None
        with _lock:
            cache = getattr(state, "answer_cache", None)
            if cache is None:
                cache = state.answer_cache = AnswerCache(megabytes * 1024 * 1024)
    return cache
