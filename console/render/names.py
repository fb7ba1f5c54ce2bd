"""Node names shortened to the part that tells them apart.

Cloud node names repeat what every node of the cluster shares: `gke-<cluster>-<pool>-
<hash>-<id>`, `ip-10-0-1-1.<region>.compute.internal`, `aks-<pool>-<id>-vmss<n>`.
`short_names` looks at the whole set of names and drops what does not tell them apart:

- the leading words every name shares (`gke-kmc-demo-`, `aks-`), unless the name would
  then start with a number (`ip-10-0-1-1` keeps its `ip-`: `10-0-1-1` reads as an index)
  or be shorter than `MIN_LEFT`;
- the trailing words every name shares (`.ec2.internal`);
- a generated word inside a name (a hex hash with a digit, 6+ long, or a run of 6+
  digits: GKE's instance-group hash, AKS's pool id) when the names stay unique without.

`gke-kmc-demo-a100-pool-2265b1f5-5sl6` → `a100-pool-5sl6`; `ip-10-0-1-1.ec2.internal` →
`ip-10-0-1-1`; `aks-gpupool-12345678-vmss000001` → `gpupool-vmss000001`. Short names stay
unique (a name that would collide keeps its generated words, at worst its full form), and
sets of short names (every name at most `KEEP` long) or of one name are left alone.

The row keeps the full name (the filter, sorting and exports read it); the short one is
a `Column.narrow` form the table shows when the full one does not fit.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

KEEP = 16
"""Names up to this long are short enough: a set of them is not shortened."""

MIN_LEFT = 10
"""A short name keeps at least this many characters where the names allow: `a100-pool-x7k2`
rather than `x7k2` when every node is in the same pool."""

_SPLIT = re.compile(r"([.-])")
_GENERATED = re.compile(r"(?=[0-9a-f]*[0-9])[0-9a-f]{6,}|[0-9]{6,}")


def _starts_with_letter(word: str) -> bool:
    return bool(word) and word[0].isalpha()


def _common_prefix(token_lists: list[list[str]], limit: int) -> int:
    """Leading words (with their separators) shared by every name, at most `limit`."""
    words = 0
    first = token_lists[0]
    while words < limit and all(t[: 2 * words + 2] == first[: 2 * words + 2] for t in token_lists):
        words += 1
    return words


def _common_suffix(token_lists: list[list[str]], limit: int) -> int:
    """Trailing words (with the separators before them) shared by every name, at most
    `limit`, backed off until the first word dropped starts with a letter."""
    words = 0
    last = token_lists[0]
    while words < limit and all(
        t[len(t) - 2 * words - 2 :] == last[len(last) - 2 * words - 2 :] for t in token_lists
    ):
        words += 1
    while words and not _starts_with_letter(last[len(last) - 2 * words + 1]):
        words -= 1
    return words


def _without_generated(tokens: list[str]) -> str:
    """`tokens` (words at even places) joined, minus generated words between the first and
    the last (each with the separator after it)."""
    out = [tokens[0]]
    for i in range(2, len(tokens) - 1, 2):
        if not _GENERATED.fullmatch(tokens[i]):
            out += [tokens[i - 1], tokens[i]]
    if len(tokens) > 1:
        out += [tokens[-2], tokens[-1]]
    return "".join(out)


def short_names(names: Iterable[str], keep: int = KEEP) -> dict[str, str]:
    """Name → its short form (see the module docstring), for every name of `names`."""
    unique = sorted(set(names))
    if len(unique) < 2 or max(map(len, unique)) <= keep:
        return {n: n for n in unique}
    token_lists = [_SPLIT.split(n) for n in unique]
    fewest = min(len(t) + 1 for t in token_lists) // 2  # words in the shortest name
    suffix = _common_suffix(token_lists, fewest - 1)
    prefix = _common_prefix(token_lists, fewest - 1 - suffix)
    while True:  # the longest common prefix that leaves names that read well
        while prefix and not all(_starts_with_letter(t[2 * prefix]) for t in token_lists):
            prefix -= 1
        trimmed = [t[2 * prefix : len(t) - 2 * suffix] for t in token_lists]
        shortest = [_without_generated(t) for t in trimmed]
        if not prefix or min(map(len, shortest)) >= MIN_LEFT:
            break
        prefix -= 1
    plain = ["".join(t) for t in trimmed]
    taken = Counter(shortest)
    out = {}
    for name, short, kept in zip(unique, shortest, plain, strict=True):
        out[name] = short if taken[short] == 1 else kept
    if len(set(out.values())) < len(out):  # a name kept whole met a shortened one
        clashes = Counter(out.values())
        out = {n: s if clashes[s] == 1 else n for n, s in out.items()}
    return out


class NodeNames:
    """The short names of a cluster's nodes, worked out again only when the set of names
    changes. The mapping stays the same object while the names it holds keep their short
    forms (nodes that come and go are added and removed in place), so builders can use it
    as part of their cache context: a new object means rows must be built again."""

    def __init__(self) -> None:
        self._names: frozenset[str] = frozenset()
        self._short: dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, names: Iterable[str]) -> Mapping[str, str]:
        current = frozenset(names)
        with self._lock:
            if current != self._names:
                short, old = short_names(current), self._short
                if all(short.get(name, s) == s for name, s in old.items()):
                    for gone in self._names - current:
                        old.pop(gone, None)
                    old.update(short)  # only new names: the same mapping object
                else:
                    self._short = short
                self._names = current
            return self._short


_BY_SESSION: weakref.WeakKeyDictionary[Any, NodeNames] = weakref.WeakKeyDictionary()
_BY_SESSION_LOCK = threading.Lock()


def node_short_names(session: Any) -> Mapping[str, str]:
    """The short names of every node in `session`'s cache (GPU and CPU nodes alike, so a
    node has the same short name in every view)."""
    with _BY_SESSION_LOCK:
        names = _BY_SESSION.get(session)
        if names is None:
            names = _BY_SESSION[session] = NodeNames()
    if "nodes" not in session.cache:
        return {}
    return names.of(node.name for node in session.cache["nodes"].items())
