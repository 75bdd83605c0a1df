import pytest
import yaml

from headline_dedup.config import Settings, build_settings
from headline_dedup.errors import ConfigError
from tests.helpers import ROOT

SHIPPED = ROOT / "config.yaml"


def test_defaults_are_valid_and_file_matches(tmp_path, monkeypatch):
    # path=None is the built-in defaults only: neither a ./config.yaml, $HEADLINES_CONFIG nor the environment.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text("batch_size: 7\n")
    monkeypatch.setenv("HEADLINES_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.setenv("HEADLINES_NUM_PERM", "128")
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:1")
    defaults = build_settings(path=None)
    assert defaults == Settings.model_validate({})
    assert build_settings({"batch_size": 9}, path=None) == Settings.model_validate({"batch_size": 9})
    # The shipped file sets every key, each to its built-in default: changing one without the other is a bug.
    shipped = yaml.safe_load(SHIPPED.read_text())
    assert shipped.keys() == Settings.model_fields.keys()
    assert Settings.model_validate(shipped) == defaults


def test_default_sources_are_the_local_file_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEADLINES_CONFIG", raising=False)
    (tmp_path / "config.yaml").write_text("batch_size: 7\nnum_perm: 32\n")
    monkeypatch.setenv("HEADLINES_NUM_PERM", "128")
    settings = build_settings()
    assert (settings.batch_size, settings.num_perm) == (7, 128)


def test_bad_value_names_the_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("cosine_threshold: 7\n")
    with pytest.raises(ConfigError, match="cosine_threshold"):
        build_settings(path=path)


def test_unknown_key_is_refused(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("cosine_treshold: 0.3\n")
    with pytest.raises(ConfigError, match="cosine_treshold"):
        build_settings(path=path)


def test_environment_overrides_file(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text("batch_size: 100\n")
    monkeypatch.setenv("HEADLINES_BATCH_SIZE", "250")
    assert build_settings(path=path).batch_size == 250
    monkeypatch.setenv("HEADLINES_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="batch_size"):
        build_settings(path=path)


def test_shipped_config_yaml_is_valid():
    settings = build_settings(path=SHIPPED)
    assert settings.namespace == "hd"
