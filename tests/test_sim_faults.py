"""Faults on demand, observed by a real client exactly as a real API server would show them."""

from __future__ import annotations

import json
import threading
import time

import kubernetes
import pytest
import urllib3
from kubernetes.client.rest import ApiException

from tests.conftest import wait_for
from tests.kube import api_client


@pytest.fixture
def core(fresh_sim):
    return kubernetes.client.CoreV1Api(api_client(fresh_sim.kubeconfig_path))


def _raw(sim, path: str = "/api/v1/nodes"):
    http = urllib3.PoolManager(cert_reqs="CERT_NONE", retries=False)
    return http.request(
        "GET", sim.server_url + path, headers={"Authorization": f"Bearer {sim.admin_token}"}
    )


def test_throttle_answers_429_with_retry_after(fresh_sim, core) -> None:
    fresh_sim.faults.throttle(count=1, retry_after=3)
    answer = _raw(fresh_sim)
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "3"
    assert json.loads(answer.data)["reason"] == "TooManyRequests"
    assert _raw(fresh_sim).status == 200  # only the asked-for number of requests is throttled
    # The official client (urllib3) honours Retry-After by itself: it waits, then succeeds.
    fresh_sim.faults.throttle(count=1, retry_after=1)
    started = time.monotonic()
    answer = core.list_node(_preload_content=False)
    assert json.loads(answer.data)["items"]
    assert [h.status for h in answer.retries.history] == [429]  # one retry, after the 429
    assert time.monotonic() - started >= 1.0  # a lower bound: a loaded machine only adds


@pytest.mark.parametrize("code", [500, 503])
def test_server_errors(fresh_sim, core, code: int) -> None:
    fresh_sim.faults.fail(code=code, count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            core.list_node()
        assert err.value.status == code
    assert core.list_node().items


def test_latency(fresh_sim, core) -> None:
    fresh_sim.faults.latency(0.4)
    started = time.monotonic()
    core.list_node()
    assert time.monotonic() - started >= 0.4  # the answer was held back (a lower bound)
    fresh_sim.faults.clear()


def test_revoked_token_gets_401(fresh_sim) -> None:
    viewer = kubernetes.client.CoreV1Api(api_client(fresh_sim.kubeconfig_path, "kmc-sim-viewer"))
    assert viewer.list_node().items
    fresh_sim.faults.revoke("viewer")
    with pytest.raises(ApiException) as err:
        viewer.list_node()
    assert err.value.status == 401


def test_dropped_watch_ends_the_connection(fresh_sim, core) -> None:
    ended = threading.Event()
    received: list[str] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            for event in kubernetes.watch.Watch().stream(core.list_namespace, timeout_seconds=30):
                received.append(event["object"].metadata.name)
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as exc:
            errors.append(exc)
        ended.set()

    threading.Thread(target=consume, daemon=True).start()
    wait_for(lambda: received, what="the watch's first events (it is open)")
    assert fresh_sim.faults.drop_watches() >= 1
    assert ended.wait(10), "the watch survived the simulated API server restart"


def test_expired_watch_gets_410(fresh_sim, core) -> None:
    rv = core.list_namespace().metadata.resource_version
    core.create_namespace({"metadata": {"name": "after-rv"}})
    fresh_sim.faults.expire_watches()
    with pytest.raises(ApiException) as err:
        for _ in kubernetes.watch.Watch().stream(
            core.list_namespace, resource_version=rv, timeout_seconds=2
        ):
            pass
    assert err.value.status == 410


def test_admin_endpoint_needs_the_admin_token(fresh_sim) -> None:
    http = urllib3.PoolManager(cert_reqs="CERT_NONE")
    url = f"{fresh_sim.server_url}/_sim/fault"
    body = b'{"action": "throttle", "count": 1, "retryAfter": 2}'
    denied = http.request(
        "POST", url, body=body, headers={"Authorization": f"Bearer {fresh_sim.viewer_token}"}
    )
    assert denied.status == 403
    ok = http.request(
        "POST", url, body=body, headers={"Authorization": f"Bearer {fresh_sim.admin_token}"}
    )
    assert ok.status == 200
    throttled = _raw(fresh_sim)
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "2"


def test_churn_updates_pods(fresh_sim, core) -> None:
    rv = int(core.list_pod_for_all_namespaces().metadata.resource_version)
    fresh_sim.faults.churn(50)
    wait_for(lambda: fresh_sim.churn.updates >= 20, what="20 churned pods")
    fresh_sim.faults.churn(0)
    changed = [
        p
        for p in core.list_pod_for_all_namespaces().items
        if int(p.metadata.resource_version) > rv
        and "sim.kmc.dev/churn" in (p.metadata.annotations or {})
    ]
    assert changed
    assert fresh_sim.churn.updates >= 20


def test_admin_endpoint_works_when_served_in_the_foreground() -> None:
    """`kmc sim serve` runs the loop on the main thread: admin actions must not wait on it."""
    import yaml

    from console.sim.process import start_process

    sim = start_process(preset="tiny", seed=5)
    try:
        token = yaml.safe_load(sim.kubeconfig.read_text())["users"][0]["user"]["token"]
        http = urllib3.PoolManager(cert_reqs="CERT_NONE", retries=False)
        headers = {"Authorization": f"Bearer {token}"}
        for action in (b'{"action": "churn", "rate": 10}', b'{"action": "drop-watches"}'):
            answer = http.request(
                "POST", sim.server + "/_sim/fault", body=action, headers=headers, timeout=10
            )
            assert answer.status == 200, answer.data
    finally:
        sim.stop()
