"""Every process converges on the control state in the database (docs/cluster.md).

Two real `exthost serve` OS processes, A and B, on one fresh PostgreSQL database, with
changes announced by LISTEN/NOTIFY and, when Redis runs, by Redis pub/sub; and two on one
SQLite file (the periodic revision check). A change made through A is in force on B:
a flow created is served, a flow deactivated stops, an extension disabled is refused (and
stays so after restarting both), faults counted on both quarantine the extension on both,
a change whose announcement was lost is found all the same, and a schedule runs once per
tick across both hosts and stops everywhere when deactivated. The webhook GET cache is
shared through Redis (per process without), and a webhook loop through both hosts stops at
the recursion limit.

Every wait is on a condition with a generous deadline, never a measurement.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.cluster.processes import HostProcess, host_env, hosts, start_host
from tests.storage.databases import REDIS_URL, fresh_postgres_database, fresh_redis_namespace
from tests.support import wait_for, write_extension

CONVERGED = 30.0
"""Seconds a change may take to reach the other host here: generous (2 shared cores); the
promise (about a second) is for an idle machine, and `make bench` is where time is measured."""

PINGER = "export default (router) => router.get('/', () => ({ status: 200, body: 'pong' }));"
FLAKY = """
export default (router) => {
  router.get('/loop', () => { while (true) {} });
  router.get('/ok', () => ({ status: 200, body: 'ok' }));
};
"""


# -- the cluster: two hosts of tests/cluster/processes.py, each with an admin client -----------------


class Host:
    """A started host of the cluster: its process, an HTTP client with the admin token, and the
    API calls the checks make."""

    def __init__(self, process: HostProcess) -> None:
        self.process = process
        self.url = process.url
        self.http = process.client()

    def log(self) -> str:
        return self.process.log()

    def stop(self) -> None:
        self.http.close()
        self.process.stop()

    def data(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, f"{method} {path} on {self.url}: {response.status_code} {response.text}"
        return response.json()["data"]

    def flow(self, flow: dict[str, Any], operation: dict[str, Any]) -> str:
        """Create a flow with one operation as its entry point; returns its id."""
        flow_id: str = self.data("POST", "/flows", flow)["id"]
        op = self.data("POST", "/operations", {"position_x": 19, "position_y": 1, **operation, "flow": flow_id})
        self.data("PATCH", f"/flows/{flow_id}", {"operation": op["id"]})
        return flow_id

    def extension(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = {e["name"]: e for e in self.data("GET", "/extensions")}[name]
        return found


class Cluster:
    """Hosts A and B, started with `env`; every process started goes into `started` (a `hosts()`
    list, which stops them all at the end)."""

    def __init__(self, env: dict[str, str], started: list[HostProcess]) -> None:
        self.env = env
        self.started = started
        self.hosts: list[Host] = []

    def start(self) -> None:
        """A first (it migrates an empty database), then B."""
        self.hosts = []
        for _ in range(2):
            self.started.append(start_host(self.env))
            self.hosts.append(Host(self.started[-1].wait_ready()))

    def restart(self) -> None:
        for host in self.hosts:
            host.stop()
        self.start()

    @property
    def a(self) -> Host:
        return self.hosts[0]

    @property
    def b(self) -> Host:
        return self.hosts[1]


def cluster_env(root: Path, **settings: str) -> dict[str, str]:
    write_extension(root / "extensions", "pinger", "endpoint", PINGER)
    write_extension(root / "extensions", "flaky", "endpoint", FLAKY)
    defaults = {
        "REDIS": "",
        "EXTENSIONS_SANDBOX_TIMEOUT": "150",
        "EXTENSIONS_QUARANTINE_AFTER": "2",
        "EXTENSIONS_QUARANTINE_BACKOFF": "3600000",
        "IMPORT_IP_DENY_LIST": "192.0.2.0/24",  # the hosts' `request` operations may reach each other
        "FLOWS_WEBHOOK_CACHE_TTL": "600",
    }
    return host_env(root, **{**defaults, **settings})


@contextmanager
def running(env: dict[str, str]) -> Iterator[Cluster]:
    """A and B started; at the end their clients closed and every process stopped."""
    with hosts() as started:
        cluster = Cluster(env, started)
        try:
            cluster.start()
            yield cluster
        finally:
            for host in cluster.hosts:
                host.http.close()


@pytest.fixture(scope="module", params=["listen-notify", "redis"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two hosts on one fresh PostgreSQL database; with `REDIS` set (and a `QUEUE_NAMESPACE` of
    their own) for the "redis" cluster."""
    with ExitStack() as stack:
        extra: dict[str, str] = {}
        if request.param == "redis":
            extra.update(REDIS=REDIS_URL, QUEUE_NAMESPACE=stack.enter_context(fresh_redis_namespace()))
        root = tmp_path_factory.mktemp(f"cluster-{request.param}")
        url = stack.enter_context(fresh_postgres_database())
        started = stack.enter_context(running(cluster_env(root, DB_URL=url, **extra)))
        for host in started.hosts:  # the backend each announces changes with, as its log says
            expected = "Redis pub/sub" if request.param == "redis" else "PostgreSQL LISTEN/NOTIFY"
            assert f"changes announced by {expected}" in host.log()
        yield started


# -- the checks ------------------------------------------------------------------------------------


def served(host: Host, flow_id: str) -> int:
    return host.http.get(f"/flows/trigger/{flow_id}").status_code


def test_a_flow_created_on_a_is_served_on_b_and_deactivated_on_a_stops_on_b(cluster: Cluster) -> None:
    flows_converge(cluster)


def flows_converge(cluster: Cluster) -> None:
    a, b = cluster.a, cluster.b
    flow_id = a.flow(
        {"name": "hello from A", "trigger": "webhook", "options": {"method": "GET"}},
        {"key": "say", "type": "transform", "options": {"json": {"served": "{{ $trigger.method }}"}}},
    )

    def answer(host: Host) -> Any:
        response = host.http.get(f"/flows/trigger/{flow_id}")
        return response.json() if response.status_code == 200 else None

    assert answer(a) == {"served": "GET"}  # at once where it was made
    wait_for(lambda: answer(b) == {"served": "GET"}, "the flow created on A to be served on B", CONVERGED)
    a.data("PATCH", f"/flows/{flow_id}", {"status": "inactive"})
    assert served(a, flow_id) == 404  # at once where it was changed
    wait_for(lambda: served(b, flow_id) == 404, "the flow deactivated on A to stop on B", CONVERGED)
    b.data("PATCH", f"/flows/{flow_id}", {"status": "active"})  # and the other way round
    wait_for(lambda: served(a, flow_id) == 200, "the flow activated on B to be served on A", CONVERGED)
    assert b.http.delete(f"/flows/{flow_id}").status_code == 204
    wait_for(lambda: served(a, flow_id) == 404, "the flow deleted on B to be gone on A", CONVERGED)


def pinged(host: Host) -> int:
    return host.http.get("/pinger").status_code


def extension_disable_converges_and_is_kept(cluster: Cluster) -> None:
    assert pinged(cluster.a) == 200 and pinged(cluster.b) == 200
    cluster.a.data("PATCH", "/extensions/pinger", {"meta": {"enabled": False}})
    assert pinged(cluster.a) == 503
    wait_for(lambda: pinged(cluster.b) == 503, "the extension disabled on A to be refused on B", CONVERGED)
    refused = cluster.b.http.get("/pinger").json()["errors"][0]
    assert refused["extensions"]["code"] == "EXTENSION_UNAVAILABLE"
    assert cluster.b.extension("pinger")["status"] == "disabled"
    cluster.restart()
    for host in cluster.hosts:
        assert pinged(host) == 503
        assert host.extension("pinger")["status"] == "disabled"
    cluster.b.data("PATCH", "/extensions/pinger", {"meta": {"enabled": True}})
    wait_for(lambda: pinged(cluster.a) == 200, "the extension enabled on B to be served on A", CONVERGED)


def test_a_change_whose_announcement_was_lost_is_found_by_the_periodic_revision_check(cluster: Cluster) -> None:
    """A change committed with its revision bumped but never announced (as when a listening
    connection was down): both hosts still find it."""
    flow_id = cluster.a.flow(
        {"name": "quiet", "trigger": "webhook"}, {"key": "say", "type": "transform", "options": {"json": {"ok": True}}}
    )
    wait_for(lambda: served(cluster.b, flow_id) == 200, "B to serve the flow", CONVERGED)
    engine = create_engine(cluster.env["DB_URL"])
    try:
        with engine.begin() as conn:  # no pg_notify, no PUBLISH
            conn.execute(text("UPDATE exthost_flows SET status = 'inactive' WHERE id = :id"), {"id": flow_id})
            conn.execute(text("UPDATE exthost_revisions SET revision = revision + 1 WHERE topic = 'flows'"))
    finally:
        engine.dispose()
    for host in cluster.hosts:
        wait_for(lambda host=host: served(host, flow_id) == 404, "the unannounced deactivation to be in force", CONVERGED)
    assert cluster.a.http.delete(f"/flows/{flow_id}").status_code == 204


def test_the_webhook_get_cache_is_shared_through_redis_and_per_process_without(
    request: pytest.FixtureRequest, cluster: Cluster
) -> None:
    a, b = cluster.a, cluster.b
    flow_id = a.flow(
        {"name": "random", "trigger": "webhook"},
        {"key": "draw", "type": "exec", "options": {"code": "module.exports = () => ({ n: Math.random() })"}},
    )
    wait_for(lambda: b.http.get(f"/flows/trigger/{flow_id}?probe=1").status_code == 200, "B to serve it", CONVERGED)
    first = a.http.get(f"/flows/trigger/{flow_id}").json()
    assert a.http.get(f"/flows/trigger/{flow_id}").json() == first  # cached on A
    on_b = b.http.get(f"/flows/trigger/{flow_id}").json()
    if request.node.callspec.params["cluster"] == "redis":
        assert on_b == first  # one cache for the cluster
    else:
        assert on_b != first  # each process its own (docs/cluster.md)
        assert b.http.get(f"/flows/trigger/{flow_id}").json() == on_b
    a.data("PATCH", f"/flows/{flow_id}", {"name": "random, renamed"})  # any change of flows drops it everywhere
    wait_for(lambda: b.http.get(f"/flows/trigger/{flow_id}").json() not in (first, on_b), "B's cache dropped", CONVERGED)
    assert a.http.get(f"/flows/trigger/{flow_id}").json() not in (first, on_b)
    assert a.http.delete(f"/flows/{flow_id}").status_code == 204


def test_faults_counted_on_a_and_b_add_up_to_a_quarantine_on_both(cluster: Cluster) -> None:
    faults_add_up_across_hosts(cluster)


def faults_add_up_across_hosts(cluster: Cluster) -> None:
    """EXTENSIONS_QUARANTINE_AFTER=2: one fault on A and one on B quarantine it on both."""
    assert cluster.a.http.get("/flaky/loop").status_code == 504
    wait_for(lambda: cluster.b.extension("flaky")["faults_in_a_row"] == 1, "B to see A's fault", CONVERGED)
    assert cluster.b.http.get("/flaky/loop").status_code == 504
    assert cluster.b.extension("flaky")["status"] == "quarantined"
    wait_for(lambda: cluster.a.extension("flaky")["status"] == "quarantined", "A to see the quarantine", CONVERGED)
    assert cluster.a.extension("flaky")["faults_in_a_row"] == 2
    assert cluster.a.http.get("/flaky/ok").status_code == 503


def seconds(run: dict[str, Any]) -> float:
    return datetime.fromisoformat(run["started_at"]).timestamp()


def test_a_schedule_runs_once_per_tick_across_hosts_and_stops_everywhere_when_deactivated(
    cluster: Cluster,
) -> None:
    schedule_runs_once_per_tick(cluster)


def test_a_webhook_loop_through_both_hosts_stops_at_the_recursion_limit(cluster: Cluster) -> None:
    """ping (served by A) requests pong on B, which requests ping on A, ...: the depth travels in
    X-Exthost-Flow-Depth, so the loop ends at FLOWS_RECURSION_LIMIT (10) runs, not never."""
    a, b = cluster.a, cluster.b
    inactive = {"trigger": "webhook", "accountability": "all", "status": "inactive"}
    ping = a.data("POST", "/flows", {"name": "ping", **inactive})["id"]
    pong = a.data("POST", "/flows", {"name": "pong", **inactive})["id"]
    for flow, target in ((ping, f"{b.url}/flows/trigger/{pong}"), (pong, f"{a.url}/flows/trigger/{ping}")):
        # a depth of 0 given in the options is dropped: only the host sets it
        forged = [{"header": "X-Exthost-Flow-Depth", "value": "0"}]
        op = a.data("POST", "/operations", {"position_x": 19, "position_y": 1, "key": "call", "type": "request", "flow": flow, "options": {"url": target, "headers": forged}})
        a.data("PATCH", f"/flows/{flow}", {"operation": op["id"]})
    # each activated where it is served: that host has it (and its operation) when the PATCH returns
    a.data("PATCH", f"/flows/{ping}", {"status": "active"})
    b.data("PATCH", f"/flows/{pong}", {"status": "active"})
    response = a.http.get(f"/flows/trigger/{ping}", timeout=120)
    innermost = response.json()
    while isinstance(innermost, dict) and "data" in innermost:  # each hop returns the response of the next
        innermost = innermost["data"]
    error = innermost["errors"][0]
    assert error["extensions"]["code"] == "FLOW_RECURSION_LIMIT"
    assert "10 run(s) over HTTP -> ping" in error["message"]  # the refused run counted every hop, none forged
    # each host stores the runs it holds before it answers for its own flow's runs (the run log is
    # written in batches): ping ran on A, pong on B
    runs = [run for host, flow in ((a, ping), (b, pong)) for run in host.data("GET", f"/flows/{flow}/runs?limit=1000")]
    assert len(runs) == 10  # the refused eleventh never ran
    for flow in (ping, pong):
        assert a.http.delete(f"/flows/{flow}").status_code == 204


def test_an_extension_disabled_on_a_is_refused_on_b_and_stays_disabled_after_restarting_both(
    cluster: Cluster,
) -> None:
    extension_disable_converges_and_is_kept(cluster)  # last of the module: it restarts both hosts


def schedule_runs_once_per_tick(cluster: Cluster) -> None:
    """A flow firing every second, scheduled on both hosts: each tick runs once in the cluster.

    A run starts at or after its tick, so N runs whose start times span S whole seconds
    come from at most S + 1 ticks (one tick's run may start a little late). Run by both
    hosts, N would be about twice that."""
    a, b = cluster.a, cluster.b
    every_second = {"name": "every second", "trigger": "schedule", "accountability": "activity", "options": {"cron": "* * * * * *"}}
    flow_id = a.flow(every_second, {"key": "note", "type": "log", "options": {"message": "tick"}})
    witness = b.flow({**every_second, "name": "witness"}, {"key": "note", "type": "log", "options": {"message": "tick"}})

    def runs(flow: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = a.data("GET", f"/flows/{flow}/runs?limit=1000")
        return found

    wait_for(lambda: len(runs(flow_id)) >= 8, "eight scheduled runs", 120)
    started = sorted(seconds(run) for run in runs(flow_id))
    span = math.floor(started[-1]) - math.floor(started[0]) + 1
    # +2: a run may start up to two seconds after its tick on a busy machine; run twice, ~2 x span
    assert len(started) <= span + 2, f"{len(started)} runs in {span} seconds of ticks: some tick ran twice"

    b.data("PATCH", f"/flows/{flow_id}", {"status": "inactive"})  # deactivated on B: stops on A too
    stopped_at = len(runs(flow_id))
    witnessed = len(runs(witness))
    # four more ticks run after the deactivation (the witness is scheduled on both hosts)
    wait_for(lambda: len(runs(witness)) >= witnessed + 4, "four more ticks of the witness", 120)
    assert len(runs(flow_id)) <= stopped_at + 2  # at most the runs already claimed, not yet logged
    b.data("PATCH", f"/flows/{witness}", {"status": "inactive"})


def test_two_processes_on_one_sqlite_file_converge_by_the_revision_check(tmp_path: Path) -> None:
    with running(cluster_env(tmp_path)) as cluster:
        assert "changes announced by revision check" in cluster.a.log()
        flows_converge(cluster)
        extension_disable_converges_and_is_kept(cluster)
