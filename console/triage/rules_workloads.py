"""Triage rules about workloads: idle allocations, training jobs, pending GPU pods, model
servers. Each lives in its own module; this one collects their `RULES` for the engine."""

from __future__ import annotations

from console.triage import rules_idle, rules_pending
from console.triage.engine import Rule

RULES: tuple[Rule, ...] = (*rules_idle.RULES, *rules_pending.RULES)
