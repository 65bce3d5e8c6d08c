"""API keys: generation, lookup digest and the encrypted copy kept for admin retrieval.

A key is shown once when created. We store its SHA-256 digest (keys are 256-bit random, so a
plain digest is enough for lookup) and a Fernet-encrypted copy whose key lives in the data
folder's `secret.key`, so `GET /api/v1/users/:id/api-key` can return it without keeping it in
clear text. Keys are never logged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

KEY_PREFIX = "tt_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def display_prefix(key: str) -> str:
    return key[:10]


class KeyVault:
    """Encrypts and decrypts stored key copies with the data folder's secret."""

    def __init__(self, secret_path: Path) -> None:
        self._fernet = Fernet(load_or_create_secret(secret_path))

    def seal(self, key: str) -> bytes:
        return self._fernet.encrypt(key.encode())

    def open(self, sealed: bytes) -> str:
        return self._fernet.decrypt(sealed).decode()


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = Fernet.generate_key()
    # Written with 0600 from the start so the secret is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret
