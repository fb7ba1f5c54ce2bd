"""The headless commands: `kmc nodes|jobs|servers|pods|gpus|triage -o table|wide|json`.

load      one-shot load: settings, connection, one list per kind, one telemetry read,
          one MLflow refresh (`LoadError`: one line, exit 3)
output    table / wide / json printing, colour only on a terminal
gpus      the all-nodes GPU view of `kmc gpus`
run       one command: rows or the triage report, and the exit code
commands  the click commands and their exit-3 usage errors
"""
