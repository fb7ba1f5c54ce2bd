"""`:ctx` re-applies the context's settings (read-only, namespace, refresh, telemetry) and
the header says read-only; kubeconfig context names are shown cleaned and never as markup;
an exec plugin that needs the user gets the terminal through `App.suspend`."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from textual.drivers.headless_driver import HeadlessDriver

from console.app import KmcApp
from console.cluster.connection import ReadOnlyError, connect
from console.commands import KmcCommands
from console.config import load_settings
from console.screens.pick import PickScreen
from tests.exec_plugin import exec_kubeconfig, runs
from tests.test_app_support import command, populated, screen_text, wait_until

SIZE = (120, 30)
HOSTILE = "evil\x1b]0;pwned\x07\x1b[31m[bold]x[/] [@click=app.quit]q[/]"


def _kubeconfig_with(sim, directory: Path, contexts: dict[str, dict]) -> Path:
    """The simulator's kubeconfig plus `contexts` (name → context body) on the same cluster."""
    config = yaml.safe_load(sim.kubeconfig_path.read_text())
    cluster = config["contexts"][0]["context"]["cluster"]
    for name, body in contexts.items():
        config["contexts"].append({"name": name, "context": {"cluster": cluster, **body}})
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def _configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def _app(kubeconfig: Path, config: Path, context: str = "kmc-sim") -> KmcApp:
    settings = load_settings({"kubeconfig": str(kubeconfig)}, environ={}, path=config,
                             current_context=context)  # fmt: skip
    connection = connect(str(kubeconfig), context, probe=True, read_only=settings.read_only)
    return KmcApp(settings, connection, cli_layer={"kubeconfig": str(kubeconfig)})


def _header(app: KmcApp) -> str:
    return " ".join(app.screen.query_one("#header").full_lines())


async def test_ctx_applies_the_contexts_settings_and_read_only(tiny_sim, tmp_path: Path):
    kubeconfig = _kubeconfig_with(tiny_sim, tmp_path, {"prod": {"user": "kmc-sim-admin"}})
    config = tmp_path / "config.toml"
    config.write_text(
        'telemetry_source = "none"\nrefresh_seconds = 2\n'
        '[contexts."prod"]\nread_only = true\nnamespace = "ml"\nrefresh_seconds = 3\n'
        'node_pool_label = "kubernetes.io/hostname"\n'
    )
    app = _app(kubeconfig, config)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        assert "read-only" not in _header(app)
        await command(pilot, "ctx prod")
        await wait_until(pilot, lambda: app.context == "prod" and app.session is not None, 20)
        await populated(pilot, app, "nodes")
        assert app.settings.read_only and app.connection.read_only
        assert app.namespace == "ml" and app.settings.refresh_seconds == 3
        await wait_until(pilot, lambda: app.session.synced())
        nodes = app.session.items("nodes")
        assert nodes and all(node.pool == node.name for node in nodes)  # the context's label
        assert app.telemetry.settings is app.settings
        await wait_until(pilot, lambda: "read-only" in _header(app))
        name = f"ctx-{uuid.uuid4().hex[:8]}"
        with pytest.raises(ReadOnlyError):
            app.connection.request(
                "POST", "/api/v1/namespaces/default/configmaps", body=_configmap(name)
            )

        await command(pilot, "ctx kmc-sim")
        await wait_until(pilot, lambda: app.context == "kmc-sim" and app.session is not None, 20)
        await populated(pilot, app, "nodes")
        assert not app.settings.read_only and not app.connection.read_only
        assert app.namespace is None and app.settings.refresh_seconds == 2
        await wait_until(pilot, lambda: "read-only" not in _header(app))
        app.connection.request(
            "POST", "/api/v1/namespaces/default/configmaps", body=_configmap(name)
        )
        app.connection.request("DELETE", f"/api/v1/namespaces/default/configmaps/{name}")


async def test_a_broken_settings_file_keeps_the_current_context(tiny_sim, tmp_path: Path):
    kubeconfig = _kubeconfig_with(tiny_sim, tmp_path, {"prod": {"user": "kmc-sim-admin"}})
    config = tmp_path / "config.toml"
    config.write_text('[contexts."prod"]\nread_only = true\n')
    app = _app(kubeconfig, config)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        session = app.session
        config.write_text('[contexts."prod"]\nread_only = "maybe"\n')
        await command(pilot, "ctx prod")
        await wait_until(
            pilot, lambda: any("cannot switch" in str(n.message) for n in app._notifications)
        )
        message = next(str(n.message) for n in app._notifications if "cannot" in str(n.message))
        assert "read_only must be true or false" in message
        assert app.context == "kmc-sim" and app.session is session


async def test_hostile_context_names_are_shown_literally(tiny_sim, tmp_path: Path):
    kubeconfig = _kubeconfig_with(tiny_sim, tmp_path, {HOSTILE: {"user": "kmc-sim-admin"}})
    config = tmp_path / "config.toml"
    config.write_text("")
    app = _app(kubeconfig, config)
    shown = "evil[bold]x[/] [@click=app.quit]q[/]"  # escapes gone, markup literal
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        provider = KmcCommands(app.screen)
        hits = [hit async for hit in provider.search("ctx evil")]
        hit = next(h for h in hits if "evil" in (h.text or ""))
        assert hit.text == f":ctx {shown}"
        assert str(hit.help) == f"Switch context to {shown}"
        discovered = [h async for h in provider.discover() if "evil" in (h.text or "")]
        assert [str(h.help) for h in discovered] == [f"Switch context to {shown}"]
        await pilot.press("ctrl+p")  # the palette renders the hostile help: no crash
        await pilot.press(*"evil")
        await pilot.pause(0.3)
        await pilot.press("escape")
        await command(pilot, "ctx")
        await wait_until(pilot, lambda: isinstance(app.screen, PickScreen))
        text = screen_text(app).replace("\xa0", " ")
        assert shown in text and "\x1b" not in text
        option = app.screen.query_one("OptionList")
        index = app.screen.choices.index(HOSTILE)
        option.highlighted = index
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.context == HOSTILE and app.session is not None, 20)
        await populated(pilot, app, "nodes")
        assert app.is_running  # [@click=app.quit] did not quit
        header = app.screen.query_one("#header")
        assert header.data.context == shown
        assert shown in _header(app)


async def test_plugin_needing_the_user_runs_inside_app_suspend(tiny_sim, tmp_path, monkeypatch):
    kubeconfig, log = exec_kubeconfig(
        tiny_sim.kubeconfig_path, tmp_path, FAKE_EXPIRED_FIRST="1", FAKE_NEEDS_USER_AFTER="1"
    )
    config = tmp_path / "config.toml"
    config.write_text("")
    # The headless driver has no terminal to hand over (the pty test in test_exec_tty hands
    # a real one): let it claim it can, and record what Textual asks of it.
    calls: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda _self: True))
    monkeypatch.setattr(
        HeadlessDriver, "suspend_application_mode", lambda _self: calls.append("suspend")
    )
    monkeypatch.setattr(
        HeadlessDriver, "resume_application_mode", lambda _self: calls.append("resume")
    )
    app = _app(kubeconfig, config, context="kmc-exec")
    assert len(runs(log)) == 1  # fetched at connect, before the app took the terminal
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        history = runs(log)
        assert [(r["interactive"], r.get("failed", False)) for r in history[1:]] == [
            (False, True),
            (True, False),
        ]
        assert calls == ["suspend", "resume"]
        assert app.is_running


def test_the_command_line_still_beats_a_contexts_section(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'theme = "kmc-dark"\n[contexts."prod"]\nread_only = false\nnamespace = "ml"\n'
        'theme = "kmc-high-contrast"\nprometheus_url = "https://u:p@prom.prod:9090"\n'
    )
    layer = {"kubeconfig": "/nonexistent/kubeconfig", "read_only": True}
    settings = load_settings(layer, environ={}, path=config, current_context="dev")
    app = KmcApp(settings, None, cli_layer=layer)
    prod = app._settings_for("prod")
    assert prod.context == "prod" and prod.read_only is True  # --read-only holds everywhere
    assert prod.namespace == "ml" and prod.theme == "kmc-high-contrast"
    assert prod.prometheus_url == "https://u:p@prom.prod:9090"  # used as given, shown redacted
    assert app._settings_for("dev").namespace is None


async def test_ctx_restarts_telemetry_with_the_contexts_source(tiny_sim, tmp_path: Path):
    kubeconfig = _kubeconfig_with(tiny_sim, tmp_path, {"prod": {"user": "kmc-sim-admin"}})
    config = tmp_path / "config.toml"
    config.write_text(
        'telemetry_source = "none"\n[contexts."prod"]\ntelemetry_source = "prometheus"\n'
        'prometheus_url = "http://alice:hunter2@127.0.0.1:1/prom?token=s3cr3t"\n'
    )
    app = _app(kubeconfig, config)
    async with app.run_test(size=(200, 30)) as pilot:
        await populated(pilot, app, "nodes")
        assert app.telemetry.status().source == "none"
        await command(pilot, "ctx prod")
        await wait_until(pilot, lambda: app.context == "prod" and app.session is not None, 20)
        await wait_until(pilot, lambda: "unavailable" in _header(app), 30)
        status = app.telemetry.status()
        assert status.source == "prometheus"
        assert status.where == "http://alice:***@127.0.0.1:1/prom?token=***"
        for shown in (_header(app), status.error, screen_text(app)):
            assert "hunter2" not in shown and "s3cr3t" not in shown


async def test_ctx_applies_the_contexts_mlflow_link(tiny_sim, tmp_path: Path):
    kubeconfig = _kubeconfig_with(tiny_sim, tmp_path, {"research": {"user": "kmc-sim-admin"}})
    config = tmp_path / "config.toml"
    store = f"sqlite:///{tmp_path}/mlflow.db"
    config.write_text(
        'telemetry_source = "none"\n'
        f'[contexts."research"]\nmlflow_tracking_uri = "{store}"\nmlflow_metric = "eval_loss"\n'
    )
    app = _app(kubeconfig, config)
    async with app.run_test(size=SIZE) as pilot:
        await populated(pilot, app, "nodes")
        assert not app.tracking.enabled  # kmc-sim's settings name no MLflow

        await command(pilot, "ctx research")
        await wait_until(pilot, lambda: app.context == "research" and app.session is not None, 20)
        await populated(pilot, app, "nodes")
        assert app.tracking.enabled and app.tracking.client.uri == store
        assert app.tracking.metric == "eval_loss"
        assert app.pipeline.tracking is app.tracking  # the new session reads the new link

        await command(pilot, "ctx kmc-sim")
        await wait_until(pilot, lambda: app.context == "kmc-sim" and app.session is not None, 20)
        await populated(pilot, app, "nodes")
        assert not app.tracking.enabled
