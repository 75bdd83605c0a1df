import pytest

from headline_dedup.config import build_settings
from headline_dedup.errors import ConfigError


def test_defaults_are_valid_and_file_matches(tmp_path):
    settings = build_settings(path=None)
    assert 0 < settings.cosine_threshold <= 1


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
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "config.yaml"
    settings = build_settings(path=path)
    assert settings.namespace == "hd"
