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


@pytest.mark.parametrize(("values", "says"), [
    ({"redis_url": "redis://node1:7000"}, "needs queue_url"),
    ({"queue_url": "redis://q:6379"}, "needs redis_url"),
    ({"redis_url": "redis://node1:7000/0", "queue_url": "redis://:pw@node1:7000/1"}, "same server"),
])
def test_a_cluster_needs_a_plain_queue_redis_of_its_own(values, says):
    with pytest.raises(ConfigError, match=says):
        build_settings({"redis_cluster": True, **values}, path=None)
    # Without redis_cluster the same values are fine: the queue defaults to the state's Redis.
    assert not build_settings(values, path=None).redis_cluster


def test_a_cluster_with_its_queue_elsewhere_is_accepted(monkeypatch):
    monkeypatch.setenv("HEADLINES_REDIS_CLUSTER", "true")
    monkeypatch.setenv("HEADLINES_QUEUE_URL", "redis://queue:6379")
    monkeypatch.setenv("REDIS_URL", "redis://node1:7000")
    assert build_settings().redis_cluster
