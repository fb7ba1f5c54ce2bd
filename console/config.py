"""Settings: command line > environment > config file > defaults.

The config file is TOML at `$XDG_CONFIG_HOME/kmc/config.toml` (default
`~/.config/kmc/config.toml`, or `KMC_CONFIG`). Top-level keys apply everywhere; a
`[contexts."<name>"]` table overrides them while that kube context is active:

    theme = "kmc-dark"
    refresh_seconds = 2
    [contexts."prod-gke"]
    read_only = true
    node_pool_label = "cloud.google.com/gke-nodepool"
    namespaces = ["ml-research", "serving"]  # where to watch if listing across is forbidden

Environment variables are `KMC_<KEY>` (e.g. `KMC_READ_ONLY=1`) plus the standard
`KUBECONFIG`, `PROMETHEUS_URL`, `MLFLOW_TRACKING_URI` and `NO_COLOR`. Every problem
is a `ConfigError` with a one-line message that names its source.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TELEMETRY_SOURCES = ("auto", "prometheus", "dcgm", "none")
DCGM_LABEL_MODES = ("auto", "standard", "lowercase", "legacy")
MIN_REFRESH_SECONDS = 1.0
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
MLFLOW_LINK_RULES = ("annotation", "env", "tag", "name")


class ConfigError(Exception):
    """A setting could not be read; the message is one line naming file/variable and line."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved settings. `context` is the kube context whose section was applied."""

    kubeconfig: str | None = None
    context: str | None = None
    theme: str = "kmc-dark"
    namespace: str | None = None
    namespaces: str | None = None
    """Comma-separated (a TOML list in the file): where to watch when the user may not list
    across the cluster (with `-n` and the context's namespace)."""
    all_namespaces: bool = False
    refresh_seconds: float = 2.0
    show_cpu_nodes: bool = False
    node_pool_label: str | None = None
    read_only: bool = False
    telemetry_source: str = "auto"
    prometheus_url: str | None = None
    dcgm_label_mode: str = "auto"
    dcgm_exporter_namespaces: str = "gpu-operator,nvidia-gpu-operator,dcgm-exporter"
    """Namespaces whose DaemonSet-owned pods are trusted as DCGM exporters (comma-separated,
    or a TOML list): the GPU Operator's (`nvidia-gpu-operator` on OpenShift) and the
    standalone chart's usual one. An exporter-labelled pod elsewhere is ignored and flagged."""
    mlflow_tracking_uri: str | None = None
    mlflow_link_rules: str = "annotation,env,tag,name"
    """Job ↔ run linking rules in order, first match wins (see console.tracking.linking)."""
    mlflow_run_annotation: str = "mlflow.org/run-id"
    mlflow_run_env: str = "MLFLOW_RUN_ID"
    mlflow_job_tag: str = "k8s.job"
    """A run tag whose value is `<namespace>/<job>`."""
    mlflow_metric: str = "loss"
    """The primary metric: the jobs view's column and the plot."""
    mlflow_stall_minutes: float = 5.0
    """A Running job with no new metric step for this long is flagged stalled."""
    device_plugin_config: str | None = None
    """The NVIDIA device plugin's sharing ConfigMap as `namespace/name` (`:timeslice`);
    unset: the one the GPU Operator's ClusterPolicy names (`spec.devicePlugin.config`)."""
    triage_idle_util: float = 5.0
    """% utilization below which a GPU held by a pod counts as idle (triage)."""
    triage_idle_minutes: float = 30.0
    """How long an allocated GPU must stay idle before triage reports it."""
    triage_hot_celsius: float = 85.0
    """GPU temperature at which triage warns (critical 5 °C above)."""
    triage_pending_minutes: float = 5.0
    """GPU pods Pending longer than this are reported."""
    triage_restarts: float = 3.0
    """Container restarts from which a training replica counts as crash-looping."""
    triage_failed_hours: float = 24.0
    """A job that Failed within this many hours is reported."""
    triage_converge_minutes: float = 5.0
    """A time-slicing change not applied to a node within this long is reported."""
    landing: str = "nodes"
    """The first view: nodes | jobs | servers | pods | triage."""
    log_line_cap: int = 50_000
    """Lines a log screen keeps (older ones are dropped with a marker): bounds its memory."""
    audit_log: str | None = None
    """Where actions are recorded (an absolute path; `KMC_AUDIT_LOG`); unset:
    `$XDG_STATE_HOME/kmc/audit.jsonl`."""
    no_color: bool = False
    config_file: Path | None = None


_FIELDS = {f.name for f in dataclasses.fields(Settings)} - {"config_file"}
_BOOLS = {"all_namespaces", "show_cpu_nodes", "read_only", "no_color"}
_NUMBERS = {  # key → (lowest, highest, unit): the triage thresholds
    "triage_idle_util": (0.0, 100.0, "percent"),
    "triage_idle_minutes": (0.0, 100_000.0, "minutes"),
    "triage_hot_celsius": (20.0, 150.0, "degrees Celsius"),
    "triage_pending_minutes": (0.0, 100_000.0, "minutes"),
    "triage_restarts": (1.0, 1_000_000.0, "restarts"),
    "triage_failed_hours": (0.0, 100_000.0, "hours"),
    "triage_converge_minutes": (0.0, 100_000.0, "minutes"),
}
LANDING_VIEWS = ("nodes", "jobs", "servers", "pods", "triage")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# Standard variables, weaker than their KMC_ twin.
_STANDARD_ENV = {
    "KUBECONFIG": "kubeconfig",
    "PROMETHEUS_URL": "prometheus_url",
    "MLFLOW_TRACKING_URI": "mlflow_tracking_uri",
}


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file lives: `KMC_CONFIG`, else the XDG config dir."""
    env = os.environ if environ is None else environ
    if env.get("KMC_CONFIG"):
        return Path(env["KMC_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "kmc" / "config.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """The parsed TOML file ({} when absent). Syntax errors become a one-line `ConfigError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", text)
        reason = text[: match.start()].strip() if match else text
        where = f"line {match.group(1)}" if match else "line ?"
        raise ConfigError(f"{path}: {where}: {reason}") from None


def _coerce(key: str, value: object, source: str) -> object:
    """Validate one setting's value; `source` names where it came from for the error."""

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{source}: {key} must be {expected}, got {value!r}")

    if value is None:
        return None
    if key in _BOOLS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise fail("true or false")
    if key == "mlflow_stall_minutes":
        try:
            minutes = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise fail("a number of minutes") from None
        if isinstance(value, bool) or not minutes > 0 or minutes == float("inf"):
            raise fail("a number of minutes above 0")
        return minutes
    if key in _NUMBERS:
        low, high, unit = _NUMBERS[key]
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise fail(f"a number of {unit}") from None
        if isinstance(value, bool) or not low <= number <= high:
            raise fail(f"a number of {unit} from {low:g} to {high:g}")
        return number
    if key == "audit_log":
        path = os.path.expanduser(value) if isinstance(value, str) else ""
        if not os.path.isabs(path):
            raise fail("an absolute path (or ~/…)")
        return path
    if key == "log_line_cap":
        try:
            lines = int(str(value).replace("_", ""))
        except ValueError:
            raise fail("a whole number of lines") from None
        if isinstance(value, bool) or not 1_000 <= lines <= 5_000_000:
            raise fail("between 1000 and 5000000 lines")
        return lines
    if key == "refresh_seconds":
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise fail("a number of seconds") from None
        if isinstance(value, bool) or number != number:
            raise fail("a number of seconds")
        return max(MIN_REFRESH_SECONDS, number)
    if key == "namespaces":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise fail("a list of namespace names")
        names = [n.strip() for n in items if n.strip()]
        bad = [n for n in names if not _NAMESPACE.fullmatch(n)]
        if bad:
            raise fail(f"namespace names (lowercase letters, digits, '-'; not {bad[0]!r})")
        return ",".join(dict.fromkeys(names)) or None
    if key == "dcgm_exporter_namespaces" and isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise fail("a list of namespace names")
        value = ",".join(value)
    if not isinstance(value, str):
        raise fail("a string")
    if key == "dcgm_exporter_namespaces":
        names = [n.strip() for n in value.split(",") if n.strip()]
        if not names:
            raise fail("at least one namespace")
        return ",".join(names)
    choices = {
        "telemetry_source": TELEMETRY_SOURCES,
        "dcgm_label_mode": DCGM_LABEL_MODES,
        "landing": LANDING_VIEWS,
    }.get(key)
    if choices and value not in choices:
        raise fail("one of " + "|".join(choices))
    if key == "mlflow_link_rules":
        rules = [r.strip() for r in value.split(",") if r.strip()]
        if not rules or any(r not in MLFLOW_LINK_RULES for r in rules):
            raise fail("a comma-separated list of " + "|".join(MLFLOW_LINK_RULES))
        return ",".join(rules)
    if key == "theme":
        return value
    return value or None  # an empty string unsets an optional setting


def _layer_from_table(table: Mapping[str, Any], source: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if key == "contexts":
            continue
        if key not in _FIELDS:
            raise ConfigError(f"{source}: unknown key {key!r}")
        out[key] = _coerce(key, value, source)
    return out


def _layer_from_env(environ: Mapping[str, str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, key in _STANDARD_ENV.items():
        if environ.get(name):
            out[key] = environ[name]
    if "NO_COLOR" in environ and environ["NO_COLOR"] != "":
        out["no_color"] = True  # no-color.org: present and non-empty disables colour
    for key in _FIELDS:
        name = "KMC_" + key.upper()
        if name in environ:
            out[key] = _coerce(key, environ[name], name)
    return out


def load_settings(
    cli: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
    current_context: str | None = None,
    switch_to: str | None = None,
) -> Settings:
    """Resolve settings. `cli` holds only options the user gave (None values are ignored).

    The per-context section is chosen by `switch_to` (the context `:ctx` switches to),
    else the context from the CLI, the environment (`KMC_CONTEXT`), the file's top-level
    `context`, else `current_context` (the kubeconfig's current-context, when the caller
    knows it).
    """
    env = os.environ if environ is None else environ
    file_path = path if path is not None else config_path(env)
    table = read_config_file(file_path)
    file_layer = _layer_from_table(table, str(file_path))
    env_layer = _layer_from_env(env)
    cli_layer = {k: _coerce(k, v, "command line") for k, v in (cli or {}).items() if v is not None}
    unknown = set(cli_layer) - _FIELDS
    if unknown:
        raise ConfigError(f"command line: unknown setting {sorted(unknown)[0]!r}")

    def first(key: str) -> object:
        for layer in (cli_layer, env_layer, file_layer):
            if layer.get(key) is not None:
                return layer[key]
        return None

    context = switch_to or first("context") or current_context
    merged: dict[str, object] = dict(file_layer)
    contexts = table.get("contexts", {})
    if not isinstance(contexts, dict):
        raise ConfigError(f"{file_path}: contexts must be a table of tables")
    if isinstance(context, str) and context in contexts:
        section = contexts[context]
        if not isinstance(section, dict):
            raise ConfigError(f"{file_path}: contexts.{context!r} must be a table")
        merged.update(_layer_from_table(section, f"{file_path} [contexts.{context!r}]"))
    merged.update(env_layer)
    merged.update(cli_layer)
    merged["context"] = context
    if merged.get("namespace") and "all_namespaces" not in cli_layer and "namespace" in cli_layer:
        merged["all_namespaces"] = False  # -n on the command line beats a configured -A
    return Settings(config_file=file_path, **{k: v for k, v in merged.items() if v is not None})


def with_overrides(settings: Settings, **changes: object) -> Settings:
    """A copy with validated changes (e.g. from the `:ns` command)."""
    return dataclasses.replace(
        settings, **{k: _coerce(k, v, "override") for k, v in changes.items()}
    )
