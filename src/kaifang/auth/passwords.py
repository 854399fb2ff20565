"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kaifang.config import Environment, Settings

MIN_PASSWORD_LENGTH = 10


@cache
def _hasher(cheap: bool) -> PasswordHasher:
    # The test suite hashes hundreds of passwords; production keeps argon2's default cost.
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if cheap else PasswordHasher()


def hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.environment == Environment.TEST)


def hash_password(settings: Settings, password: str) -> str:
    return hasher_for(settings).hash(password)


def verify_password(settings: Settings, stored: str, password: str) -> bool:
    try:
        return hasher_for(settings).verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(settings: Settings, stored: str) -> bool:
    try:
        return hasher_for(settings).check_needs_rehash(stored)
    except InvalidHashError:
        return True
