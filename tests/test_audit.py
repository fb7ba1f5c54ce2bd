"""`kmc audit`: the audit log printed as a table or as JSON lines, from the default XDG
place or --file; a missing log is an empty result, an unreadable one a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from console.cli import main
from console.cluster.audit import AuditLog


def _log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "state" / "kmc" / "audit.jsonl")
    common = {"context": "prod", "server": "https://k8s", "user": "alice", "object": "Node gpu-1"}
    log.append(
        {
            **common,
            "verb": "cordon",
            "before": {"schedulable": "yes"},
            "after": {"schedulable": "no"},
            "result": "started",
            "message": "",
        }
    )
    log.append(
        {
            **common,
            "verb": "cordon",
            "before": {"schedulable": "yes"},
            "after": {"schedulable": "no"},
            "result": "ok",
            "message": "cordoned Node gpu-1 \x1b]0;pwned\x07[red]x[/red]",
        }
    )
    return log  # fmt: skip


def test_table_from_the_xdg_state_home(tmp_path: Path) -> None:
    _log(tmp_path)
    result = CliRunner().invoke(main, ["audit"], env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.exit_code == 0, result.output
    header, _started, ok = result.output.splitlines()
    assert header.split() == [
        "TIME",
        "CONTEXT",
        "USER",
        "VERB",
        "OBJECT",
        "CHANGE",
        "RESULT",
        "MESSAGE",
    ]
    assert "prod" in ok and "alice" in ok and "Node gpu-1" in ok
    assert "schedulable yes → no" in ok and " ok " in ok
    assert ok.endswith("cordoned Node gpu-1 [red]x[/red]")  # escapes gone, markup left as text
    assert header.index("RESULT") == ok.index(" ok ") + 1  # aligned


def test_json_and_last(tmp_path: Path) -> None:
    log = _log(tmp_path)
    result = CliRunner().invoke(
        main, ["audit", "-o", "json", "--file", str(log.path), "--last", "1"]
    )
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()
    entry = json.loads(line)
    assert entry["result"] == "ok" and entry["before"] == {"schedulable": "yes"}


def test_missing_and_unreadable_logs(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "--file", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 0 and "no actions recorded" in result.output
    (tmp_path / "f").write_text("")
    result = CliRunner().invoke(main, ["audit", "--file", str(tmp_path / "f" / "audit.jsonl")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: audit log ") and len(result.output.splitlines()) == 1


def test_the_audit_log_setting(tmp_path: Path) -> None:
    log = _log(tmp_path)
    env = {"KMC_AUDIT_LOG": str(log.path), "KMC_CONFIG": str(tmp_path / "none.toml")}
    result = CliRunner().invoke(main, ["audit", "-o", "json"], env=env)
    assert result.exit_code == 0 and len(result.output.splitlines()) == 2
    result = CliRunner().invoke(main, ["audit"], env={**env, "KMC_AUDIT_LOG": "audit.jsonl"})
    assert result.exit_code == 1
    assert "audit_log must be an absolute path" in result.output
