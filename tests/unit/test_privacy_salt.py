"""The salt's hand-keyed HMAC-SHA256 is the standard one."""

from __future__ import annotations

import hashlib
import hmac
import random

from tinytrail import privacy


def test_salt_digest_is_hmac_sha256() -> None:
    rng = random.Random(5)
    for key_size in (0, 1, 32, 63, 64, 65, 200):
        secret = rng.randbytes(key_size)
        salt = privacy.Salt(secret)
        for size in (0, 1, 55, 64, 300):
            message = rng.randbytes(size)
            assert salt.digest(message) == hmac.digest(secret, message, hashlib.sha256)
        # Each message starts from the keyed state: earlier ones leave no trace.
        assert salt.digest(b"x") == hmac.digest(secret, b"x", hashlib.sha256)


def test_visitor_id_is_the_first_64_bits_of_the_hmac() -> None:
    secret = bytes(range(32))
    expected = hmac.digest(secret, b"1.2.3.4\x00Agent\x007", hashlib.sha256)
    assert privacy.visitor_id(privacy.Salt(secret), "1.2.3.4", "Agent", 7) == int.from_bytes(
        expected[:8], "big"
    )
