"""Triage rules about workloads: idle allocations, training jobs, pending GPU pods, model
servers. Each lives in its own module; this one collects their `RULES` for the engine."""

from __future__ import annotations

from console.triage import rules_idle, rules_jobs, rules_pending, rules_servers
from console.triage.engine import Rule

RULES: tuple[Rule, ...] = (
    *rules_idle.RULES,
    *rules_jobs.RULES,
    *rules_pending.RULES,
    *rules_servers.RULES,
)
