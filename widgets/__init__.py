"""Reusable Textual widgets that take plain data. They never import `console`.

Import from the submodules (`widgets.virtual_table`, `widgets.heatmap`, ...) or from here.
"""

from widgets.command_bar import CommandBar
from widgets.confirm import ConfirmDialog
from widgets.gpu_bar import gpu_bar, util_style, util_text
from widgets.header import ClusterHeader, HeaderData
from widgets.heatmap import GpuHeatmap, HeatCell, HeatGroup, HeatRow
from widgets.help import HelpScreen
from widgets.log_view import LogView
from widgets.table_layout import TableColumn, TableRow
from widgets.virtual_table import VirtualTable

__all__ = [
    "ClusterHeader",
    "CommandBar",
    "ConfirmDialog",
    "GpuHeatmap",
    "HeaderData",
    "HeatCell",
    "HeatGroup",
    "HeatRow",
    "HelpScreen",
    "LogView",
    "TableColumn",
    "TableRow",
    "VirtualTable",
    "gpu_bar",
    "util_style",
    "util_text",
]
