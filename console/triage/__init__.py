"""Triage: rules over cluster, telemetry and MLflow state that say what is wrong right now,
ranked. No Textual.

    model            Finding, ObjectRef, Report (the stable JSON of `kmc triage -o json`)
    engine           Thresholds, TriageInputs, Triage (runs the rules, keeps their memory)
    rules_gpu        XID errors, remapped rows, heat and throttling
    rules_nodes      nodes NotReady or under pressure, device plugin / exporter down,
                     time-slicing changes that did not converge
    rules_workloads  idle allocated GPUs, stalled and crash-looping jobs, Pending GPU pods,
                     model servers down
"""
