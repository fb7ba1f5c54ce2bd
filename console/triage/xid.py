"""XID codes: what the NVIDIA driver's error numbers mean and how urgent each is.

The driver logs an XID when something goes wrong on a GPU; DCGM reports the last one per GPU
(`DCGM_FI_DEV_XID_ERRORS`, with `err_code`/`err_msg` labels from dcgm-exporter 3.3.6). Some
codes are the hardware failing (a GPU off the bus, double-bit ECC, NVLink, GSP firmware): the
GPU must leave service, so triage calls them critical and suggests cordoning and draining the
node. Others are usually the application's own fault (an illegal memory access, a kernel
killed): a warning, and a look at the workload's logs. Meanings follow NVIDIA's XID catalogue
(docs.nvidia.com/deploy/xid-errors), shortened to fit one line.
"""

from __future__ import annotations

from dataclasses import dataclass

HARDWARE, APPLICATION, DRIVER, UNKNOWN = "hardware", "application", "driver", "unknown"


@dataclass(frozen=True, slots=True)
class Xid:
    code: int
    meaning: str
    cause: str
    """`hardware`, `driver` (driver and firmware faults count as hardware: the GPU needs a
    reset before it can be trusted again), `application` or `unknown`."""
    action: str

    @property
    def critical(self) -> bool:
        return self.cause in (HARDWARE, DRIVER)


_RESET = "cordon the node, drain it, then reset the GPU (replace it if the XID returns)"
_RMA = "cordon the node and drain it; the GPU needs a reset, and an RMA if it recurs"
_LOGS = "read the workload's logs (an illegal access or a killed kernel); cordon only if it recurs on this GPU"

XIDS: dict[int, Xid] = {
    x.code: x
    for x in (
        Xid(8, "GPU stopped processing (timeout)", DRIVER, _RESET),
        Xid(13, "graphics engine exception (application fault)", APPLICATION, _LOGS),
        Xid(31, "GPU memory page fault (illegal address)", APPLICATION, _LOGS),
        Xid(32, "invalid or corrupted push buffer stream", DRIVER, _RESET),
        Xid(38, "driver firmware error", DRIVER, _RESET),
        Xid(43, "GPU stopped processing (reset channel)", APPLICATION, _LOGS),
        Xid(45, "preemptive cleanup after earlier errors", APPLICATION, _LOGS),
        Xid(48, "double-bit ECC error", HARDWARE, _RMA),
        Xid(61, "internal micro-controller breakpoint", HARDWARE, _RESET),
        Xid(62, "internal micro-controller halt", HARDWARE, _RESET),
        Xid(63, "ECC page retirement / row remapping event", HARDWARE, _RESET),
        Xid(64, "ECC page retirement / row remapping failure", HARDWARE, _RMA),
        Xid(68, "video processor exception", APPLICATION, _LOGS),
        Xid(69, "graphics engine class error", APPLICATION, _LOGS),
        Xid(74, "NVLink error", HARDWARE, _RESET),
        Xid(79, "GPU fell off the bus", HARDWARE, _RMA),
        Xid(92, "high single-bit ECC error rate", HARDWARE, _RESET),
        Xid(94, "contained ECC error", HARDWARE, _RESET),
        Xid(95, "uncontained ECC error", HARDWARE, _RMA),
        Xid(109, "context switch timeout", APPLICATION, _LOGS),
        Xid(119, "GSP RPC timeout", HARDWARE, _RESET),
        Xid(120, "GSP error", HARDWARE, _RESET),
        Xid(121, "C2C link corrected error", HARDWARE, _RESET),
        Xid(122, "SPI PMU RPC read failure", HARDWARE, _RESET),
        Xid(123, "SPI PMU RPC write failure", HARDWARE, _RESET),
        Xid(140, "unrecovered ECC error", HARDWARE, _RMA),
        Xid(143, "GPU initialization failure", HARDWARE, _RMA),
        Xid(154, "GPU recovery action changed (reset needed)", HARDWARE, _RESET),
    )
}


_LOOK_UP = (
    "look the code up in NVIDIA's XID catalogue; cordon and drain the node if it is a "
    "hardware fault or recurs"
)


def lookup(code: int, message: str = "") -> Xid:
    """The catalogue entry of `code`. A code not in the table is `unknown` (a warning, not a
    page), described by the exporter's `err_msg` when it gave one."""
    known = XIDS.get(code)
    if known is not None:
        return known
    return Xid(code, message or "not in the console's XID table", UNKNOWN, _LOOK_UP)
