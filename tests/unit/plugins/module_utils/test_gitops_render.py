"""The renderer's promises about bad input and determinism."""

from __future__ import annotations

import shutil

import pytest
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import inventory
from titanium_tools import render as render_cli


def test_unknown_environment_names_the_valid_ones():
    with pytest.raises(gitops.RenderError) as failure:
        inventory.render("qa")
    assert "'qa'" in str(failure.value)
    for env in inventory.environments():
        assert env in str(failure.value)


@pytest.mark.parametrize("tag", ["latest", "1.0 beta", "-rc1", ".hidden", "a" * 129, "v1:2", 7])
def test_malformed_image_tags_are_refused(tag):
    with pytest.raises(gitops.RenderError, match="malformed image tag"):
        inventory.render("staging", overrides={"image_tags": {"blog-service": tag}})


@pytest.mark.parametrize("tag", ["1.4.0", "v2.0.0-rc.1", "sha-3f1c2a9", "2026_11_21"])
def test_well_formed_tags_are_rendered_into_the_images_component(tag):
    files = inventory.render("staging", overrides={"image_tags": {"blog-service": tag}})
    component = yaml.safe_load(files["services/overlays/staging/images/kustomization.yaml"])
    tags = {entry["name"]: entry["newTag"] for entry in component["images"]}
    assert tags["titanium-blog-service"] == tag
    assert tags["titanium-user-service"] == "0.1.0"


DIGEST = "sha256:" + "ab" * 32


def _images(env, **overrides):
    files = inventory.render(env, overrides=overrides)
    component = yaml.safe_load(files[f"services/overlays/{env}/images/kustomization.yaml"])
    return {entry["name"]: entry for entry in component["images"]}


def test_each_environment_names_its_own_registry_and_a_digest_pins_the_image():
    images = _images("staging", image_digests={"blog-service": DIGEST})
    assert (
        images["titanium-blog-service"]["newName"]
        == "ghcr.io/titanium-platform/titanium-blog-service"
    )
    assert images["titanium-blog-service"]["digest"] == DIGEST
    assert "digest" not in images["titanium-user-service"]
    local = _images("local", image_registry="127.0.0.1:5000")
    assert local["titanium-api-gateway"]["newName"] == "127.0.0.1:5000/titanium-api-gateway"


@pytest.mark.parametrize(
    "registry", ["https://ghcr.io/x", "ghcr.io/x/", "GHCR.io", "", None, "a b"]
)
def test_a_registry_that_is_no_image_reference_prefix_is_refused(registry):
    with pytest.raises(gitops.RenderError, match="is not a registry"):
        inventory.render("staging", overrides={"image_registry": registry})


@pytest.mark.parametrize(
    ("digests", "message"),
    [
        ({"blog-service": "sha256:abc"}, "malformed image digest"),
        ({"blog-service": "SHA256:" + "ab" * 32}, "malformed image digest"),
        ({"search-service": DIGEST}, "unknown service 'search-service'"),
    ],
)
def test_malformed_or_stray_digests_are_refused(digests, message):
    with pytest.raises(gitops.RenderError, match=message):
        inventory.render("staging", overrides={"image_digests": digests})


def test_a_pull_secret_is_named_by_every_service_account_only_when_wanted():
    def patches(**overrides):
        files = inventory.render("staging", overrides=overrides)
        overlay = yaml.safe_load(files["services/overlays/staging/kustomization.yaml"])
        return [p for p in overlay["patches"] if p["target"].get("kind") == "ServiceAccount"]

    assert patches() == []
    (patch,) = patches(image_pull_secret=True)
    assert yaml.safe_load(patch["patch"]) == [
        {"op": "add", "path": "/imagePullSecrets", "value": [{"name": "titanium-registry"}]}
    ]


def test_a_tag_for_an_unknown_service_is_named():
    with pytest.raises(gitops.RenderError, match="unknown service 'search-service'"):
        inventory.render("local", overrides={"image_tags": {"search-service": "1.0.0"}})


@pytest.fixture
def source(tmp_path):
    copy = tmp_path / "gitops"
    shutil.copytree(gitops.DEFAULT_SOURCE, copy)
    return copy


def test_a_missing_environment_value_is_named():
    values = {k: v for k, v in inventory.values("production").items() if k != "hostname"}
    with pytest.raises(gitops.RenderError, match="titanium_environment_values lacks hostname"):
        gitops.render("production", values)


def test_a_missing_image_tag_is_named():
    values = dict(inventory.values("local"))
    values["image_tags"] = {k: v for k, v in values["image_tags"].items() if k != "user-service"}
    with pytest.raises(gitops.RenderError, match=r"image_tags\.user-service"):
        gitops.render("local", values)


@pytest.mark.parametrize("name", ["", "Staging", "qa/../prod", "-x", 7])
def test_an_environment_name_unfit_for_paths_is_refused(name):
    with pytest.raises(gitops.RenderError, match="not usable"):
        gitops.render(name, inventory.values("local"))


def test_environment_values_that_are_not_a_mapping_are_refused():
    with pytest.raises(gitops.RenderError, match="must be a mapping"):
        gitops.render("local", "titanium-local")


def test_the_environments_are_the_inventories_that_state_values():
    # The rehearsal's inventory renders local's values: no environment of its own.
    assert inventory.environments() == ("local", "production", "staging")


def test_a_template_using_an_undefined_variable_names_it_and_the_template(source):
    template = source / "platform/namespace.yaml.j2"
    template.write_text(template.read_text().replace("{{ env }}", "{{ enviroment }}"))
    with pytest.raises(gitops.RenderError) as failure:
        inventory.render("local", source=source)
    assert "platform/namespace.yaml.j2" in str(failure.value)
    assert "enviroment" in str(failure.value)


def test_managed_paths_are_the_environment_folders_and_the_shared_base():
    assert gitops.managed_paths("production") == [
        "argocd/production",
        "services/base",
        "services/overlays/production",
        "platform/production",
        # Owned where Bookinfo is off too: switching it off removes its folder.
        "bookinfo/production",
    ]
    for env in inventory.environments():
        for path in inventory.render(env):
            assert any(path.startswith(p + "/") for p in gitops.managed_paths(env)), path


def test_output_carries_no_timestamp_or_host_detail():
    text = "".join(inventory.render("local").values())
    import socket

    assert socket.gethostname() not in text
    assert "2026-" not in text and "/work/" not in text


def test_cli_reports_bad_input_with_exit_code_2(capsys, tmp_path):
    assert render_cli.main(["nowhere", "--out", str(tmp_path / "x")]) == 2
    assert "choose one of local, production, staging" in capsys.readouterr().err
    assert (
        render_cli.main(["local", "--set-tag", "blog-service=bad tag", "--out", str(tmp_path)]) == 2
    )
    assert render_cli.main(["local", "--out", str(tmp_path / "ok")]) == 0
    assert (tmp_path / "ok/argocd/local/root.yaml").is_file()
