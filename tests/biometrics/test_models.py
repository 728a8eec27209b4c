"""The model registry: hashes, sources, lazy cached sessions, refusals, fetching, packs."""

import json
import shutil
import subprocess
import sys

import pytest

from models.fetch import fetch_all
from models.registry import BUILTIN, ModelRegistry, ModelRegistryError, Task
from models.store import ModelStore, ModelUnavailable, file_sha256
from tests.biometrics.conftest import MODEL_DIR


def test_every_builtin_model_matches_its_registered_hash():
    for spec in BUILTIN:
        assert file_sha256(MODEL_DIR / spec.file) == spec.sha256, spec.name
        assert spec.source_url.startswith("https://")
        assert spec.licence and spec.preprocessing.channels in ("rgb", "bgr")


def test_sessions_are_lazy_and_cached_per_process():
    store = ModelStore.open(MODEL_DIR)
    assert store.loaded() == []
    first = store.session("yunet_s")
    assert store.session("yunet_s") is first
    assert store.loaded() == ["yunet_s"]


def test_a_tampered_model_is_refused(tmp_path):
    spec = ModelRegistry(BUILTIN).get("yunet_s")
    target = tmp_path / spec.file
    target.parent.mkdir(parents=True)
    data = bytearray((MODEL_DIR / spec.file).read_bytes())
    data[1000] ^= 0xFF
    target.write_bytes(bytes(data))
    store = ModelStore.open(tmp_path)
    with pytest.raises(ModelUnavailable, match="refusing to load"):
        store.session("yunet_s")


def test_a_missing_model_names_the_file_and_the_command(tmp_path):
    store = ModelStore.open(tmp_path)
    with pytest.raises(ModelUnavailable) as err:
        store.session("facemesh_468")
    assert "landmarks/facemesh_468.onnx" in str(err.value)
    assert "python -m models fetch" in str(err.value)


def test_fetch_copies_from_a_local_folder_with_hash_checks(tmp_path):
    results = fetch_all(
        ModelRegistry(BUILTIN), tmp_path / "m", local_source=MODEL_DIR, allow_download=False
    )
    assert {r.status for r in results} == {"copied"}
    again = fetch_all(
        ModelRegistry(BUILTIN), tmp_path / "m", local_source=MODEL_DIR, allow_download=False
    )
    assert {r.status for r in again} == {"present"}


def test_fetch_refuses_a_bad_local_copy(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(MODEL_DIR, source)
    (source / "antispoof" / "minifas128.onnx").write_bytes(b"not the model")
    results = {
        r.name: r
        for r in fetch_all(
            ModelRegistry(BUILTIN), tmp_path / "m", local_source=source, allow_download=False
        )
    }
    assert results["minifas128"].status == "failed"
    assert "sha256" in results["minifas128"].detail
    assert not (tmp_path / "m" / "antispoof" / "minifas128.onnx").exists()


def test_an_operator_pack_loads_through_the_same_registry(tmp_path):
    """A production pack (for example buffalo_l) is a manifest in <model dir>/packs."""
    spec = ModelRegistry(BUILTIN).get("w600k_mbf").to_json()
    spec.update(name="pack_recognition", file="packs/demo/recognition.onnx")
    (tmp_path / "packs" / "demo").mkdir(parents=True)
    shutil.copyfile(
        MODEL_DIR / "recognition" / "w600k_mbf_int8.onnx",
        tmp_path / "packs" / "demo" / "recognition.onnx",
    )
    (tmp_path / "packs" / "demo.json").write_text(json.dumps({"pack": "demo", "models": [spec]}))
    store = ModelStore.open(tmp_path)
    assert store.registry.get("pack_recognition").task is Task.RECOGNITION
    assert store.session("pack_recognition") is not None
    (tmp_path / "packs" / "broken.json").write_text(json.dumps({"pack": "broken"}))
    with pytest.raises(ModelRegistryError):
        ModelRegistry.with_packs(tmp_path)


def test_models_cli_verify_and_list(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "models", "verify", "--dir", str(MODEL_DIR)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "models", "verify", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "MISSING" in missing.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "models", "list", "--dir", str(MODEL_DIR)],
        capture_output=True,
        text=True,
    )
    assert "NON-COMMERCIAL" in listing.stdout and "w600k_mbf" in listing.stdout
