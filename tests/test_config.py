"""Settings precedence (CLI > environment > file context section > file > defaults) and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import ConfigError, Settings, config_path, load_settings, with_overrides

FILE = """
theme = "kmc-light"
refresh_seconds = 5
read_only = false
node_pool_label = "team/pool"

[contexts."prod"]
read_only = true
refresh_seconds = 0.2
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    return path


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(environ={}, path=tmp_path / "missing.toml")
    assert settings == Settings(config_file=tmp_path / "missing.toml")


def test_file_then_context_section(cfg: Path) -> None:
    plain = load_settings(environ={}, path=cfg)
    assert (plain.theme, plain.refresh_seconds, plain.read_only) == ("kmc-light", 5.0, False)
    prod = load_settings(environ={}, path=cfg, current_context="prod")
    assert prod.read_only and prod.refresh_seconds == 1.0  # clamped to the 1 s minimum
    assert prod.context == "prod" and prod.node_pool_label == "team/pool"


def test_env_beats_file_and_cli_beats_env(cfg: Path) -> None:
    env = {"KMC_THEME": "kmc-dark", "KMC_READ_ONLY": "0", "KMC_CONTEXT": "prod",
           "PROMETHEUS_URL": "http://prom", "NO_COLOR": "1", "KUBECONFIG": "/k"}  # fmt: skip
    settings = load_settings(environ=env, path=cfg)
    assert settings.theme == "kmc-dark" and settings.context == "prod"
    assert settings.read_only is False  # env beats the context section
    assert settings.prometheus_url == "http://prom" and settings.no_color
    assert settings.kubeconfig == "/k"
    cli = load_settings(
        {"theme": "kmc-high-contrast", "read_only": True, "context": "dev"}, env, cfg
    )
    assert cli.theme == "kmc-high-contrast" and cli.read_only and cli.context == "dev"
    assert cli.refresh_seconds == 5.0  # dev has no section
    assert load_settings(environ={**env, "KMC_PROMETHEUS_URL": "http://kmc"}, path=cfg).prometheus_url == "http://kmc"  # fmt: skip


def test_xdg_location() -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/kmc/config.toml")
    assert config_path({"KMC_CONFIG": "/y.toml"}) == Path("/y.toml")
    assert config_path({}).parts[-3:] == (".config", "kmc", "config.toml")


def test_broken_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "a"\nrefresh_seconds = = 3\n')
    with pytest.raises(ConfigError) as info:
        load_settings(environ={}, path=path)
    message = str(info.value)
    assert str(path) in message and "line 2" in message and "\n" not in message


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"KMC_REFRESH_SECONDS": "soon"}, "KMC_REFRESH_SECONDS"),
        ({"KMC_TELEMETRY_SOURCE": "carrier-pigeon"}, "auto|prometheus|dcgm|none"),
        ({"KMC_READ_ONLY": "perhaps"}, "true or false"),
    ],
)
def test_bad_values(tmp_path: Path, env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace("|", r"\|")):
        load_settings(environ=env, path=tmp_path / "none.toml")


def test_unknown_key_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("colour = 'red'\n")
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        load_settings(environ={}, path=path)
    settings = with_overrides(Settings(), namespace="ml", refresh_seconds="3")
    assert settings.namespace == "ml" and settings.refresh_seconds == 3.0
