"""Production settings refuse missing secrets and pass Django's deploy checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BACKEND_DIR = Path(__file__).resolve().parents[2]


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _production_env() -> dict[str, str]:
    private, public = _pem_pair()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "SECRET_KEY"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "gpubroker.settings.production",
            "SECRET_KEY": "q8-Zl3xk$Vb9!mR2wT7yE4uI0oP6aS1dF5gH8jK3lZ9xC7vB2nM4qW6eR8tY0uIo",
            "ALLOWED_HOSTS": "gpubroker.example.com",
            "JWT_PRIVATE_KEY": private,
            "JWT_PUBLIC_KEY": public,
            "INTEGRATIONS_ENCRYPTION_KEY": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=",
        }
    )
    return env


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_passes_deploy_checks_with_production_like_env() -> None:
    result = _check(_production_env(), "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_secrets() -> None:
    env = _production_env()
    for name in ("SECRET_KEY", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "INTEGRATIONS_ENCRYPTION_KEY"):
        env.pop(name)
    result = _check(env)
    assert result.returncode != 0
    assert (
        "production settings need: INTEGRATIONS_ENCRYPTION_KEY, JWT_PRIVATE_KEY, JWT_PUBLIC_KEY,"
        " SECRET_KEY" in result.stderr
    )


def test_production_refuses_a_weak_secret_key() -> None:
    env = _production_env()
    env["SECRET_KEY"] = "short"
    result = _check(env)
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 characters" in result.stderr


def test_settings_read_dotenv_without_overriding_the_environment(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comments and blank lines are skipped\n\n"
        "WS_SNAPSHOT_LIMIT=17\n"
        "JWT_ISSUER='issuer-from-file'\n"
        'OTEL_SERVICE_NAME="from-file"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WS_SNAPSHOT_LIMIT", "JWT_ISSUER")}
    env.update(
        {
            "GPUBROKER_ENV_FILE": str(dotenv),
            "OTEL_SERVICE_NAME": "from-environment",
            "DJANGO_SETTINGS_MODULE": "gpubroker.settings.test",
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s;"
            " print(s.WS_SNAPSHOT_LIMIT, s.JWT_ISSUER, s.OTEL_SERVICE_NAME)",
        ],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["17", "issuer-from-file", "from-environment"]


def test_the_example_env_file_changes_no_default(tmp_path: Path) -> None:
    # Copied verbatim to .env, the example must behave like no .env at all.
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s;"
        " print(json.dumps({k: str(getattr(s, k)) for k in dir(s) if k.isupper()}, sort_keys=True))"
    )

    def settings_with(env_file: Path) -> dict[str, str]:
        env = {**os.environ, "GPUBROKER_ENV_FILE": str(env_file)}
        env["DJANGO_SETTINGS_MODULE"] = "gpubroker.settings.development"
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=BACKEND_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(result.stdout.strip().splitlines()[-1])

    example = BACKEND_DIR.parent / ".env.example"
    assert settings_with(example) == settings_with(tmp_path / "none.env")
