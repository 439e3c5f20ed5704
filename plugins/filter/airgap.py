# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an air-gap directory must hold, read from rendered manifests: the images
the charts (helm template with the values the roles pass) and the GitOps tree
(kubectl kustomize of what Argo CD deploys) would make a node pull. The list is
derived, never kept by hand, so a chart or value change changes it.

Images are found where the rendered objects name them:
- any `image` field holding a reference (containers, init containers, and the
  custom resources an operator turns into pods, such as Prometheus's);
- a container argument `--flag=<reference>` or an environment value that is a
  fully qualified reference (an operator told which image its pods run);
- Istio's injector settings (a ConfigMap value holding `global.hub` and
  `global.tag`): the sidecar and the gateway run `<hub>/<proxy image>:<tag>`,
  a reference no object spells out.
"""

from __future__ import annotations

import hashlib
import json
import re

import yaml

# A reference as Docker's distribution library accepts it (name components,
# optional registry host with port, optional tag, optional digest).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?)"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_FLAG = re.compile(r"^--?[A-Za-z0-9_.-]+=(?P<value>\S+)$")
_DEFAULT_REGISTRY = "docker.io"


def _parse(reference: str) -> re.Match | None:
    return _REFERENCE.match(reference) if isinstance(reference, str) else None


def _has_registry(name: str) -> bool:
    first, separator, _rest = name.partition("/")
    return bool(separator) and ("." in first or ":" in first or first == "localhost")


def normalize_image(reference: str) -> str:
    """The fully qualified form a node's containerd stores and the kubelet asks
    for: registry host, `library/` for Docker Hub's official images, `latest`
    when neither tag nor digest is given; a tag beside a digest is dropped, as
    the runtime resolves such a reference by its digest alone."""
    match = _parse(reference)
    if match is None:
        raise ValueError(f"{reference!r} is not an image reference")
    name, tag, digest = match["name"], match["tag"], match["digest"]
    if not _has_registry(name):
        name = f"{_DEFAULT_REGISTRY}/{name if '/' in name else 'library/' + name}"
    if digest:
        return f"{name}@{digest}"
    return f"{name}:{tag or 'latest'}"


def _qualified(value: str) -> bool:
    """A string that is unmistakably an image: a registry host, and a tag or digest."""
    match = _parse(value)
    return bool(match and _has_registry(match["name"]) and (match["tag"] or match["digest"]))


def _named(value) -> bool:
    """An `image` field that names an image: with a tag, a digest or a path
    (a bare word such as Istio's `auto` placeholder is not one)."""
    match = _parse(value)
    return bool(match and (match["tag"] or match["digest"] or "/" in match["name"]))


def _istio_proxy_images(settings: dict) -> list[str]:
    hub = settings.get("global", {}).get("hub")
    tag = settings.get("global", {}).get("tag")
    if not (isinstance(hub, str) and hub and isinstance(tag, (str, int, float)) and str(tag)):
        return []
    variant = settings["global"].get("variant") or ""
    found = []
    for key in ("proxy", "proxy_init"):
        image = (settings["global"].get(key) or {}).get("image")
        if not isinstance(image, str) or not image:
            continue
        # A name with a slash is already a whole reference (Istio's own rule).
        found.append(
            image if "/" in image else f"{hub}/{image}:{tag}{'-' + variant if variant else ''}"
        )
    return found


def _walk(node, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and _named(value):
                found.add(value)
            elif key in ("args", "command") and isinstance(value, list):
                for argument in value:
                    flag = _FLAG.match(argument) if isinstance(argument, str) else None
                    if flag and _qualified(flag["value"]):
                        found.add(flag["value"])
            elif key == "env" and isinstance(value, list):
                for variable in value:
                    value_of = variable.get("value") if isinstance(variable, dict) else None
                    if isinstance(value_of, str) and _qualified(value_of):
                        found.add(value_of)
            _walk(value, found)
    elif isinstance(node, list):
        for item in node:
            _walk(item, found)


def _config_map_settings(document: dict) -> list[str]:
    if document.get("kind") != "ConfigMap":
        return []
    found = []
    for value in (document.get("data") or {}).values():
        if not isinstance(value, str) or '"hub"' not in value:
            continue
        try:
            settings = json.loads(value)
        except ValueError:
            continue
        if isinstance(settings, dict):
            found.extend(_istio_proxy_images(settings))
    return found


def manifest_images(manifests) -> list[str]:
    """Every image the rendered manifests make a node run, fully qualified,
    sorted, each once. `manifests` is YAML text (many documents) or a list of
    such texts."""
    texts = [manifests] if isinstance(manifests, str) else list(manifests)
    found: set[str] = set()
    for text in texts:
        for document in yaml.safe_load_all(text):
            if not isinstance(document, dict):
                continue
            _walk(document, found)
            found.update(_config_map_settings(document))
    return sorted({normalize_image(reference) for reference in found})


def image_archive_name(reference: str) -> str:
    """A file name for the archive of one image: readable, and distinct for
    distinct references (the hash tells apart names the readable part folds
    together, such as a/b_c and a/b/c)."""
    normalized = normalize_image(reference)
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", normalized.split("@sha256:", maxsplit=1)[0])
    return f"{readable}-{hashlib.sha256(normalized.encode()).hexdigest()[:12]}.oci.tar"


def chart_archive(chart: dict) -> str:
    """Where a chart (an entry of a role's `*_helm_charts`) lies in an air-gap
    directory, relative to it: one name per chart and version."""
    for key in ("chart", "version"):
        if not str(chart.get(key) or ""):
            raise ValueError(f"chart entry {chart!r} has no {key}")
    return f"charts/{chart['chart']}-{chart['version']}.tgz"


def chart_ref(chart: dict, airgap_dir: str = "") -> str:
    """What Helm installs a chart from: its file in the air-gap directory when
    one is set, otherwise <repository name>/<chart>."""
    if airgap_dir:
        return f"{airgap_dir.rstrip('/')}/{chart_archive(chart)}"
    return f"{chart['repo_name']}/{chart['chart']}"


def sha256sums(text: str) -> dict[str, str]:
    """SHA256SUMS as sha256sum writes it (`<hex>  <path>`, `*` before a path
    read in binary mode): path -> hex digest."""
    sums = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        digest, _separator, path = line.partition(" ")
        sums[path.lstrip(" *")] = digest.lower()
    return sums


def airgap_problems(stat_results: list[dict], sums: dict[str, str], airgap_dir: str) -> list[str]:
    """From ansible.builtin.stat results (sha256, looped over paths relative to
    airgap_dir): each file that is missing, not listed in SHA256SUMS, or whose
    content is not what SHA256SUMS says, named with its full path."""
    problems = [] if sums else [f"{airgap_dir}/SHA256SUMS is missing or empty"]
    for result in stat_results:
        path = f"{airgap_dir}/{result['item']}"
        stat = result.get("stat") or {}
        if not stat.get("exists"):
            problems.append(f"{path} is missing")
        elif result["item"] not in sums:
            problems.append(f"{path} is not listed in SHA256SUMS")
        elif stat.get("checksum") != sums[result["item"]]:
            expected = sums[result["item"]]
            problems.append(
                f"{path} is corrupt (sha256 {stat.get('checksum')}, SHA256SUMS says {expected})"
            )
    return problems


def tagged_reference(name: str, tag: str, registry: str) -> str:
    """How manifest.json keys a digest read while gathering: the reference by
    tag, as the gitops role names the image to its registry."""
    return f"{registry.rstrip('/')}/{name}:{tag}"


def recorded_digests(tagged: dict[str, str], registry: str, recorded: dict[str, str]) -> dict:
    """The digests gathering read for these images (name -> tag), from
    manifest.json's image_digests, in the shape image_digest returns
    (`digests`: name -> digest), and the references it never read (`missing`)."""
    digests, missing = {}, []
    for name, tag in tagged.items():
        reference = tagged_reference(name, tag, registry)
        if reference in recorded:
            digests[name] = recorded[reference]
        else:
            missing.append(reference)
    return {"digests": digests, "missing": missing}


class FilterModule:
    def filters(self):
        return {
            "manifest_images": manifest_images,
            "normalize_image": normalize_image,
            "image_archive_name": image_archive_name,
            "chart_archive": chart_archive,
            "chart_ref": chart_ref,
            "sha256sums": sha256sums,
            "airgap_problems": airgap_problems,
            "tagged_reference": tagged_reference,
            "recorded_digests": recorded_digests,
        }
