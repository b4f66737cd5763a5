"""`make lint`'s dependency audit: pip-audit over every pinned line of requirements.lock.

    python deploy/audit_dependencies.py [--require-service]

pip-audit asks PyPI's JSON API (one request per locked version) which published advisories
(PYSEC, GHSA, CVE) affect that exact version. Outcomes, each with its own last line:

- every package audited, no advisory outside the exceptions: "audited N packages: no known
  vulnerability", exit 0;
- an advisory not listed in the exceptions: the package, the advisory id, the versions that fix
  it, exit 1;
- the vulnerability service unreachable for some packages (no network, or a registry mirror that
  serves installs but not PyPI's per-version JSON API, as on the project's own machines): a
  banner "NOT AUDITED: K of N packages" naming why, exit 0 so an offline lint still runs the rest,
  or exit 2 with `--require-service` (or PIP_AUDIT_REQUIRED=1) where the service must be reached.

Exceptions live in pyproject.toml, `[[tool.gpubroker.pip-audit.exceptions]]`, each with the
advisory `id` and the `reason` it does not apply (or what replaces the fix); an exception
without a reason is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parents[1]
LOCK_FILE = REPO_DIR / "requirements.lock"


def audit_exceptions(pyproject: Path = REPO_DIR / "pyproject.toml") -> dict[str, str]:
    """Advisory id -> reason, from `[[tool.gpubroker.pip-audit.exceptions]]`.

    Raises:
        SystemExit: an exception without an id or a reason.
    """
    config = tomllib.loads(pyproject.read_text())
    entries = config.get("tool", {}).get("gpubroker", {}).get("pip-audit", {}).get("exceptions", [])
    exceptions: dict[str, str] = {}
    for entry in entries:
        advisory, reason = str(entry.get("id", "")).strip(), str(entry.get("reason", "")).strip()
        if not advisory or not reason:
            raise SystemExit(f"pip-audit exception without an id and a reason: {entry!r}")
        exceptions[advisory] = reason
    return exceptions


def pip_audit_report(pip_audit: str, exceptions: dict[str, str]) -> dict[str, Any]:
    """pip-audit's JSON report over requirements.lock (pinned lines, no resolution)."""
    command = [
        pip_audit,
        "--requirement",
        str(LOCK_FILE),
        "--no-deps",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
    ]
    for advisory in sorted(exceptions):
        command += ["--ignore-vuln", advisory]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"dependencies": [], "error": last_line}
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the audit and print its outcome; the exit status is described in the module doc."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--require-service", action="store_true")
    parser.add_argument("--pip-audit", default=str(Path(sys.executable).parent / "pip-audit"))
    args = parser.parse_args(argv)
    require_service = args.require_service or os.environ.get("PIP_AUDIT_REQUIRED") == "1"
    exceptions = audit_exceptions()
    report = pip_audit_report(args.pip_audit, exceptions)
    dependencies = report.get("dependencies", [])
    skipped = [dep for dep in dependencies if "skip_reason" in dep]
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    audited = len(dependencies) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
            print(f"pip-audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    for advisory, reason in sorted(exceptions.items()):
        print(f"pip-audit: exception {advisory}: {reason}")
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} locked package(s) with known vulnerabilities")
        return 1
    if "error" in report or skipped or not dependencies:
        why = report.get("error") or (skipped[0]["skip_reason"] if skipped else "no packages")
        total = len(dependencies) or "all"
        print(
            f"pip-audit: NOT AUDITED: {len(skipped) or total} of {total} locked packages; the "
            f"vulnerability service did not answer for them (first: {why}). Rerun where PyPI's "
            "JSON API is reachable (docs/security.md, 'Dependencies')."
        )
        return 2 if require_service else 0
    print(f"pip-audit: audited {audited} packages: no known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
