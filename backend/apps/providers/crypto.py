"""Encryption of tenants' provider keys at rest (Fernet, rotatable through MultiFernet).

`INTEGRATIONS_ENCRYPTION_KEY` is a comma-separated list of Fernet keys: the first encrypts,
all decrypt, so a key is rotated by prepending a new one. Development generates one key under
`var/` when unset; production refuses to start without it (settings/production.py).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _dev_key(var_dir: Path) -> str:
    path = var_dir / "integrations.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = Fernet.generate_key()
        # O_EXCL: two processes starting together agree on whichever key was written first.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
    return path.read_text().strip()


@functools.cache
def integration_cipher() -> MultiFernet:
    """The Fernet cipher over INTEGRATIONS_ENCRYPTION_KEY (first key encrypts, all decrypt).

    Without keys, development generates one under var/; ImproperlyConfigured otherwise or for
    an invalid key.
    """
    keys = [key for key in settings.INTEGRATIONS_ENCRYPTION_KEY if key]
    if not keys:
        if not settings.INTEGRATIONS_GENERATE_DEV_KEY:
            raise ImproperlyConfigured("INTEGRATIONS_ENCRYPTION_KEY is not set")
        keys = [_dev_key(Path(settings.VAR_DIR))]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        message = "INTEGRATIONS_ENCRYPTION_KEY holds an invalid Fernet key"
        raise ImproperlyConfigured(message) from exc


def secret_encrypt(plaintext: str) -> bytes:
    """A tenant's provider secret encrypted with the current key."""
    return integration_cipher().encrypt(plaintext.encode())


def secret_decrypt(token: bytes | memoryview) -> str | None:
    """The plaintext, or None when no configured key can decrypt it (rotated away)."""
    try:
        return integration_cipher().decrypt(bytes(token)).decode()
    except InvalidToken:
        return None
