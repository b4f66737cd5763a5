"""Offline check of deploy/k8s (run by `make lint`; no cluster, no network).

1. Every kustomization under deploy/k8s is read; every YAML file beside them must be one of
   their `resources` or `patches` (so nothing escapes the check).
2. Every document of those files is validated with kubernetes-validate against the pinned
   Kubernetes versions, strictly (unknown fields are errors). `kubectl kustomize` is not
   needed: the base is plain, complete manifests and the overlay's patch files are complete
   manifests too (its JSON-patch operations are inline).
3. What schemas cannot see: a Deployment's selector matches its pod labels; each Service, HPA
   and PodDisruptionBudget points at a Deployment of the base; each ConfigMap a pod reads is in
   the base; every container declares CPU and memory requests and a memory limit; an overlay's
   `images` rename an image the base uses.

Usage: python deploy/k8s/check.py   (exit 1 with one line per problem)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

K8S_DIR = Path(__file__).resolve().parent
# The oldest minor version the manifests promise to work on, and the newest the validator
# ships (a removed API would show there first).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
# Created by the operator, never kept in the repository (docs/deploy.md).
EXTERNAL_SECRETS = {"gpubroker-secrets", "gpubroker-tls"}


def documents(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document of `path`, parsed."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kustomizations() -> list[Path]:
    """Every kustomization.yaml under deploy/k8s, sorted."""
    return sorted(K8S_DIR.rglob("kustomization.yaml"))


def referenced_files(kustomization: Path) -> Iterator[Path]:
    """The resource files a kustomization lists (recursing into listed directories).

    Raises ValueError for deprecated kustomize fields this checker does not render.
    """
    spec = documents(kustomization)[0]
    unsupported = set(spec) & {"patchesStrategicMerge", "patchesJson6902", "bases"}
    if unsupported:
        raise ValueError(f"{kustomization}: deprecated fields {sorted(unsupported)}")
    for entry in spec.get("resources", []):
        path = (kustomization.parent / entry).resolve()
        if path.is_file():
            yield path
        elif not (path / "kustomization.yaml").is_file():
            raise ValueError(f"{kustomization}: resource {entry} is neither a file nor a base")
    for patch in spec.get("patches", []):
        if "path" in patch:
            yield (kustomization.parent / patch["path"]).resolve()


def pod_specs(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pod specs a workload manifest (Deployment, Job) runs."""
    if manifest["kind"] in {"Deployment", "Job"}:
        yield manifest["spec"]["template"]["spec"]


def semantic_problems(manifests: list[tuple[Path, dict[str, Any]]]) -> Iterator[str]:
    """Cross-manifest mistakes a schema cannot see: selectors, targets, resources."""
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for _, manifest in manifests:
        by_kind.setdefault(manifest["kind"], {})[manifest["metadata"]["name"]] = manifest
    deployments = by_kind.get("Deployment", {})

    def selects_deployment(labels: dict[str, str]) -> bool:
        return any(
            labels.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            for d in deployments.values()
        )

    for path, manifest in manifests:
        where = f"{path.relative_to(K8S_DIR)}: {manifest['kind']} {manifest['metadata']['name']}"
        kind, spec = manifest["kind"], manifest.get("spec", {})
        if kind == "Deployment":
            selector = spec["selector"]["matchLabels"]
            if not selector.items() <= spec["template"]["metadata"]["labels"].items():
                yield f"{where}: selector does not match the pod labels"
        if kind == "Service" and not selects_deployment(spec["selector"]):
            yield f"{where}: selector matches no Deployment"
        pdb_labels = spec.get("selector", {}).get("matchLabels", {})
        if kind == "PodDisruptionBudget" and not selects_deployment(pdb_labels):
            yield f"{where}: selector matches no Deployment"
        if kind == "HorizontalPodAutoscaler" and spec["scaleTargetRef"]["name"] not in deployments:
            yield f"{where}: scales a Deployment that is not here"
        for pod in pod_specs(manifest):
            for container in pod.get("initContainers", []) + pod["containers"]:
                resources = container.get("resources", {})
                requests, limits = resources.get("requests", {}), resources.get("limits", {})
                if not {"cpu", "memory"} <= requests.keys() or "memory" not in limits:
                    yield f"{where}: {container['name']} lacks cpu/memory requests or memory limit"
                for source in container.get("envFrom", []):
                    if "configMapRef" in source:
                        name = source["configMapRef"]["name"]
                        if name not in by_kind.get("ConfigMap", {}):
                            yield f"{where}: reads ConfigMap {name}, which is not here"
                    if "secretRef" in source:
                        name = source["secretRef"]["name"]
                        if name not in EXTERNAL_SECRETS:
                            yield f"{where}: reads Secret {name}, not one docs/deploy.md creates"


def image_names(manifests: list[tuple[Path, dict[str, Any]]]) -> set[str]:
    """The image names (without tag) that the manifests' containers run."""
    return {
        container["image"].rsplit(":", 1)[0]
        for _, manifest in manifests
        for pod in pod_specs(manifest)
        for container in pod.get("initContainers", []) + pod["containers"]
    }


def problems() -> Iterator[str]:
    """Every problem in deploy/k8s: schema validation per pinned version, then semantics."""
    found = kustomizations()
    if not found:
        yield f"no kustomization.yaml under {K8S_DIR}"
        return
    listed: dict[Path, Path] = {}
    for kustomization in found:
        try:
            for path in referenced_files(kustomization):
                listed.setdefault(path, kustomization)
        except ValueError as exc:
            yield str(exc)
    on_disk = {path.resolve() for path in K8S_DIR.rglob("*.y*ml")}
    for orphan in sorted(on_disk - listed.keys() - {k.resolve() for k in found}):
        yield f"{orphan.relative_to(K8S_DIR)}: not listed in any kustomization, so never checked"

    base = [
        (path, manifest)
        for path, kustomization in listed.items()
        if kustomization.parent.name == "base"
        for manifest in documents(path)
    ]
    for path in sorted(listed):
        for manifest in documents(path):
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(manifest, version, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    location = ".".join(str(part) for part in exc.path)
                    name = path.relative_to(K8S_DIR)
                    yield f"{name} (Kubernetes {version}): {location}: {exc.message}"
                except kubernetes_validate.SchemaNotFoundError as exc:
                    yield f"{path.relative_to(K8S_DIR)}: {exc.message}"
    yield from semantic_problems(base)

    used_images = image_names(base)
    for kustomization in found:
        for image in documents(kustomization)[0].get("images", []):
            if image["name"] not in used_images:
                yield f"{kustomization.relative_to(K8S_DIR)}: image {image['name']} is not used"


def main() -> int:
    """Print each problem; return 0 when there is none, else 1."""
    found = list(problems())
    for problem in found:
        print(f"deploy/k8s: {problem}", file=sys.stderr)
    if not found:
        count = sum(len(documents(path)) for k in kustomizations() for path in referenced_files(k))
        versions = ", ".join(KUBERNETES_VERSIONS)
        print(f"deploy/k8s: {count} manifests valid for Kubernetes {versions}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
