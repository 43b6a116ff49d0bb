"""Test RSA keys, generated once per process (never committed).

The fixtures of ``tests/conftest.py`` and ``tests/sandbox/conftest.py`` take their
keys from here: a 4096-bit key costs about half a second, and mutation testing
(``tests/proof/mutation.py``) starts a pytest session per mutant in processes
forked from one that already made them.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.asymmetric import rsa


@functools.cache
def rsa_private_key(bits: int, slot: str = "") -> rsa.RSAPrivateKey:
    """Return this process's ``bits``-bit test key named ``slot``."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)
