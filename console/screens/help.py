"""`help_sections(view)`: what the help lists, for `widgets.help.HelpScreen(sections, title=...)`.

The help box sizes itself to its content (`HelpScreen` measures its key table).
"""

from __future__ import annotations

COMMANDS = [
    (":nodes :jobs :servers :pods", "switch view"),
    (":gpumap (:map)", "GPU map: every GPU's utilization, grouped by pool and node"),
    (":ctx [name]", "switch kube context (no name: choose)"),
    (":ns [name|all]", "namespace filter (no name: choose)"),
    (":help", "this help"),
    (":q", "quit"),
]

DETAIL_KEYS = [
    ("d / y / e", "describe / YAML / events tab (also 1 / 2 / 3)"),
    ("g", "GPUs tab of a GPU node (also 4): per-GPU sparklines, temperature, XID"),
    ("enter", "on a GPU row: the pod holding it"),
    ("r", "reload YAML and events"),
    ("esc", "back"),
    ("q / ctrl+c", "quit"),
]


def help_sections(view: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(key, what)]) sections for the help of `view` ("detail", "gpumap", ...)."""
    if view == "detail":
        keys = DETAIL_KEYS
    elif view == "gpumap":
        from console.screens.gpumap import KEYS_HELP as MAP_KEYS

        keys = MAP_KEYS
    else:
        from console.screens.resource import KEYS_HELP

        keys = list(KEYS_HELP.items())
        if view != "nodes":
            keys = [(k, d) for k, d in keys if k not in ("c", "g")]
    return [(f"Keys ({view or 'view'})", keys), ("Commands", COMMANDS)]
