"""The optional `.env` file at the repository root, read into the process environment.

Both the settings and `gpubroker.embedded` (which runs before the settings and decides whether
to start embedded servers) read it, so a variable in `.env` counts exactly like one exported in
the shell. Variables already set in the environment win; the file never overrides them.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
# Read from the process environment only (a `.env` cannot name itself); tests point it elsewhere.
ENV_FILE_VARIABLE = "GPUBROKER_ENV_FILE"


def env_file_path() -> Path:
    """`$GPUBROKER_ENV_FILE`, else `.env` at the repository root."""
    return Path(os.environ.get(ENV_FILE_VARIABLE) or REPO_DIR / ".env")


def read_env_file() -> Path | None:
    """Copy the variables of the `.env` file into `os.environ` where they are not set yet.

    Returns the file read, or None when there is none. The syntax is django-environ's
    (`NAME=value`, optional quotes, `#` comment lines).
    """
    import environ

    path = env_file_path()
    if not path.is_file():
        return None
    environ.Env.read_env(path, overwrite=False)
    return path
