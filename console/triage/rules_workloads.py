"""Triage rules: workloads (being built; see console/triage/engine.py for the rule contract)."""

from __future__ import annotations

from console.triage.engine import Rule

RULES: tuple[Rule, ...] = ()
