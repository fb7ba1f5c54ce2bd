"""Node names shortened to what tells them apart, from the set of names."""

from __future__ import annotations

from console.render.names import NodeNames, short_names


def test_gke_names_keep_pool_and_suffix() -> None:
    names = [
        "gke-kmc-demo-a100-pool-2265b1f5-5sl6",
        "gke-kmc-demo-a100-pool-2265b1f5-8jft",
        "gke-kmc-demo-h100-pool-e6c3f339-2wbq",
        "gke-kmc-demo-l4-pool-6a8ac4ba-5vrv",
    ]
    assert list(short_names(names).values()) == [
        "a100-pool-5sl6",
        "a100-pool-8jft",
        "h100-pool-2wbq",
        "l4-pool-5vrv",
    ]
    # one pool: the pool stays (a short name of a few letters says too little)
    one_pool = short_names(names[:2])
    assert list(one_pool.values()) == ["a100-pool-5sl6", "a100-pool-8jft"]
    # a regional pool (a hash per zone): the hashes go while the names stay unique
    zones = ["gke-c-gpu-pool-1111aaaa-abcd", "gke-c-gpu-pool-2222bbbb-efgh"]
    assert list(short_names(zones).values()) == ["gpu-pool-abcd", "gpu-pool-efgh"]


def test_eks_and_aks_names() -> None:
    eks = ["ip-10-0-1-1.ec2.internal", "ip-10-0-1-2.ec2.internal", "ip-10-0-2-15.ec2.internal"]
    assert list(short_names(eks).values()) == ["ip-10-0-1-1", "ip-10-0-1-2", "ip-10-0-2-15"]
    regional = ["ip-10-0-1-1.us-west-2.compute.internal", "ip-10-1-1-2.us-west-2.compute.internal"]
    assert list(short_names(regional).values()) == ["ip-10-0-1-1", "ip-10-1-1-2"]
    aks = [
        "aks-gpupool-12345678-vmss000000",
        "aks-gpupool-12345678-vmss000001",
        "aks-nodepool1-87654321-vmss000000",
    ]
    assert list(short_names(aks).values()) == [
        "gpupool-vmss000000",
        "gpupool-vmss000001",
        "nodepool1-vmss000000",
    ]


def test_left_alone_unique_and_never_a_bare_number() -> None:
    assert short_names(["node-1", "node-2"]) == {"node-1": "node-1", "node-2": "node-2"}
    alone = "gke-prod-a100-pool-1a2b3c4d-x7k2"  # one name: nothing to compare with
    assert short_names([alone]) == {alone: alone}
    assert short_names([]) == {}
    numbered = ["worker-0000000001.example.internal", "worker-0000000002.example.internal"]
    short = list(short_names(numbered).values())
    assert short == ["worker-0000000001", "worker-0000000002"]  # never starts with a number
    # a hash that tells two names apart stays
    twins = ["gke-c-pool-1234abcd-x", "gke-c-pool-9999abcd-x"]
    short = short_names(twins)
    assert len(set(short.values())) == 2 and all(s in n for n, s in short.items())
    mixed = ["gke-a-b-c-d-e-f-long", "gke-a-b-c-d-e-f-long-x", "other-very-long-name-here"]
    short = short_names(mixed)
    assert len(set(short.values())) == 3 and all(s in n for n, s in short.items())


def test_node_names_memo_keeps_its_mapping_while_the_names_stay() -> None:
    memo = NodeNames()
    names = ["gke-c-gpu-pool-1111aaaa-abcd", "gke-c-gpu-pool-1111aaaa-efgh"]
    first = memo.of(names)
    assert memo.of(reversed(names)) is first  # same set: same mapping object
    # a node joins and the others keep their short names: the same mapping, grown
    grown = memo.of([*names, "gke-c-gpu-pool-1111aaaa-ijkl"])
    assert grown is first and grown["gke-c-gpu-pool-1111aaaa-ijkl"] == "gpu-pool-ijkl"
    assert memo.of(names) is first and len(first) == 2  # and leaves
    # a node whose name changes the others' short forms: a new mapping (rows are rebuilt)
    changed = memo.of([*names, "ip-10-0-1-1.ec2.internal"])
    assert changed is not first and changed[names[0]] == "gke-c-gpu-pool-abcd"
