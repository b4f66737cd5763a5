"""Where signing keys come from: the environment, generated dev keys, or a refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from apps.auth_app.tokens import key_id, keyring


def test_dev_key_is_generated_once_under_var(tmp_path: Path) -> None:
    with override_settings(JWT_PRIVATE_KEY="", JWT_PUBLIC_KEY="", VAR_DIR=tmp_path):
        first = keyring()
        key_file = tmp_path / "jwt" / "dev-private.pem"
        assert key_file.read_text() == first.private_pem
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert list(first.public_keys) == [first.kid]
        assert key_id(first.public_keys[first.kid]) == first.kid
    with override_settings(JWT_PRIVATE_KEY="", JWT_PUBLIC_KEY="", VAR_DIR=tmp_path / "."):
        assert keyring().private_pem == first.private_pem


def test_missing_keys_are_refused_without_dev_generation(tmp_path: Path) -> None:
    with (
        override_settings(
            JWT_PRIVATE_KEY="", JWT_PUBLIC_KEY="", JWT_GENERATE_DEV_KEYS=False, VAR_DIR=tmp_path
        ),
        pytest.raises(ImproperlyConfigured),
    ):
        keyring()
    assert not (tmp_path / "jwt").exists()
