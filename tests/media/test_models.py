"""Model resolution order, offline mode, and a real hash-checked download over loopback HTTP."""

import functools
import http.server
import threading

import pytest

from hamflex.media import models
from hamflex.errors import ModelUnavailableError

SHARED_FULL_SHA256 = "d233e9e7b26fd84efb2671d8f4bb526a8c93355a0371fef85b58394a3cff98d1"


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(models.MODEL_ENV_VAR, raising=False)
    monkeypatch.delenv(models.OFFLINE_ENV_VAR, raising=False)
    return tmp_path / "cache" / "hamflex" / "models"


def test_explicit_path_beats_environment(empty_cache, tmp_path, monkeypatch):
    explicit, from_env = tmp_path / "a.task", tmp_path / "b.task"
    explicit.write_bytes(b"x")
    from_env.write_bytes(b"y")
    monkeypatch.setenv(models.MODEL_ENV_VAR, str(from_env))
    assert models.resolve_model(explicit) == explicit
    assert models.resolve_model() == from_env


def test_cache_used_when_nothing_is_given(empty_cache):
    empty_cache.mkdir(parents=True)
    (empty_cache / "pose_landmarker_lite.task").write_bytes(b"x")
    assert models.resolve_model("lite", offline=True) == empty_cache / "pose_landmarker_lite.task"
    assert models.cached_models() == {"lite": empty_cache / "pose_landmarker_lite.task"}


def test_offline_without_model_explains_how_to_supply_one(empty_cache, monkeypatch):
    monkeypatch.setenv(models.OFFLINE_ENV_VAR, "1")
    with pytest.raises(ModelUnavailableError, match="HAMFLEX_MODEL"):
        models.resolve_model()


def test_missing_explicit_file_is_an_error(empty_cache, tmp_path):
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        models.resolve_model(tmp_path / "nope.task")


def test_official_urls_are_pinned_versions():
    for spec in models.MODELS.values():
        assert "/float16/1/" in spec.url and spec.url.endswith(spec.filename)
        assert len(spec.sha256) == 64


@pytest.fixture
def model_server(tmp_path, model_path):
    """Serve the shared model over loopback HTTP at the official path layout."""
    folder = tmp_path / "store" / "pose_landmarker_full" / "float16" / "1"
    folder.mkdir(parents=True)
    (folder / "pose_landmarker_full.task").symlink_to(model_path.resolve())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "store"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_checks_the_hash_and_writes_atomically(empty_cache, model_server, monkeypatch):
    monkeypatch.setattr(models, "_STORE", model_server)
    monkeypatch.setitem(models.MODELS, "full", models.ModelSpec("full", "0" * 64))
    with pytest.raises(ModelUnavailableError, match="could not download"):
        models.resolve_model(progress=False)
    assert not any(empty_cache.glob("*.task"))  # nothing half-written under the final name

    monkeypatch.setitem(models.MODELS, "full", models.ModelSpec("full", SHARED_FULL_SHA256))
    path = models.resolve_model(progress=False)
    assert path == empty_cache / "pose_landmarker_full.task" and path.stat().st_size > 1_000_000
