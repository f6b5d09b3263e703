"""Request log, stats, fault injection (rates, seed, budget, lost responses) and restarts."""

import uuid

import requests

from emulator_helpers import ZONE, authorized_session, compute, instance_body, wait
from emulator.testing import Emulator


def test_request_log_and_stats(tmp_path):
    with Emulator(tmp_path, backend="memory") as emu:
        headers = {"Authorization": "Bearer " + emu.token}
        assert requests.get(compute(emu, "zones"), headers=headers).status_code == 200
        assert requests.post(compute(emu, "zones/%s/instances" % ZONE), headers=headers,
                             json=instance_body("log-1")).status_code == 200
        lines = emu.requests()
        assert [line["method"] for line in lines] == ["GET", "POST"]
        first = lines[0]
        assert set(first) >= {"ts", "method", "path", "query", "status", "api", "write",
                              "faulted"}
        assert first["api"] == "compute" and first["write"] is False
        assert [w["path"] for w in emu.writes()] == [
            "/compute/v1/projects/openclaw-demo/zones/%s/instances" % ZONE]
        stats = emu.stats()
        assert stats["requests"] == 2 and stats["writes"] == 1 and stats["instances"] == 1
        assert stats["by_api"] == {"compute": 2}
        emu.reset_stats()
        assert emu.stats()["requests"] == 0
        assert {line["api"] for line in emu.requests()} == {"admin"}


def test_faults_are_seeded_and_bounded(tmp_path):
    with Emulator(tmp_path, backend="memory") as emu:
        headers = {"Authorization": "Bearer " + emu.token}

        def run():
            return [requests.get(compute(emu, "zones/%s" % ZONE), headers=headers)
                    for dummy in range(40)]
        emu.set_faults(fault_rate=0.5, seed=11, budget=6)
        first = run()
        failed = [a for a in first if a.status_code != 200]
        assert len(failed) == 6
        for answer in failed:
            assert answer.status_code in (429, 500, 503)
            error = answer.json()["error"]
            assert error["code"] == answer.status_code and error["errors"][0]["reason"]
        assert sum(1 for line in emu.requests() if line["faulted"]) == 6
        emu.set_faults(fault_rate=0.5, seed=11, budget=6)
        second = run()
        assert [a.status_code for a in second] == [a.status_code for a in first]
        emu.set_faults()
        assert all(a.status_code == 200 for a in run())


def test_lost_response_is_applied_and_request_id_replays_it(tmp_path):
    with Emulator(tmp_path, backend="memory", lost_rate=1.0, fault_budget=1) as emu:
        session = authorized_session(emu)
        url = compute(emu, "zones/%s/instances?requestId=%s" % (ZONE, uuid.uuid4()))
        lost = session.post(url, json=instance_body("lost-1"))
        assert lost.status_code == 503
        assert session.get(compute(emu, "zones/%s/instances/lost-1" % ZONE)).status_code == 200
        retry = session.post(url, json=instance_body("lost-1"))
        assert retry.status_code == 200 and retry.json()["operationType"] == "insert"
        assert emu.stats()["faults"]["lost"] == 1
        assert [line["faulted"] for line in emu.requests() if line["write"]] == ["lost", None]


def test_fault_flags_on_the_command_line(tmp_path):
    with Emulator(tmp_path, backend="memory", fault_rate=1.0, fault_seed=3,
                  fault_budget=2) as emu:
        headers = {"Authorization": "Bearer " + emu.token}
        codes = [requests.get(compute(emu, "zones"), headers=headers).status_code
                 for dummy in range(5)]
        assert codes[2:] == [200, 200, 200] and all(c in (429, 500, 503) for c in codes[:2])


def test_restart_keeps_state_keys_and_tokens(tmp_path):
    emu = Emulator(tmp_path, backend="memory")
    with emu:
        session = authorized_session(emu)
        wait(session, emu, session.post(compute(emu, "zones/%s/instances" % ZONE),
                                        json=instance_body("keep-1")).json())
        token = session.credentials.token
        key = open(emu.key_file, encoding="utf-8").read()
        emu.restart()
        assert open(emu.key_file, encoding="utf-8").read().count("PRIVATE KEY") == \
            key.count("PRIVATE KEY")
        answer = requests.get(compute(emu, "zones/%s/instances/keep-1" % ZONE),
                              headers={"Authorization": "Bearer " + token})
        assert answer.status_code == 200 and answer.json()["status"] == "RUNNING"
        fresh = authorized_session(emu)
        assert fresh.get(compute(emu, "zones/%s/instances/keep-1" % ZONE)).status_code == 200


def test_admin_rejects_bad_input(tmp_path):
    with Emulator(tmp_path, backend="memory") as emu:
        answer = requests.post(emu.endpoint + "/_emulator/faults", json={"fault_rate": 2})
        assert answer.status_code == 400
        answer = requests.post(emu.endpoint + "/_emulator/preload",
                               json={"zones": ["nowhere-1a"], "count": 1})
        assert answer.status_code == 400
        assert requests.get(emu.endpoint + "/_emulator/nothing").status_code == 404


def test_parallel_lifecycles_with_latency_and_faults(tmp_path):
    """Eight clients drive their own instance through insert/stop/start/delete at once, with
    transient faults and lost answers; every answer is either right or an injected fault."""
    import threading
    import time
    with Emulator(tmp_path, backend="memory", latency=0.2, fault_rate=0.1, lost_rate=0.3,
                  fault_seed=5, fault_budget=40) as emu:
        problems = []

        def call(session, method, url, **kwargs):
            for attempt in range(20):
                answer = session.request(method, url, **kwargs)
                if answer.status_code not in (429, 500, 503):
                    return answer
                time.sleep(0.05 * (attempt + 1))
            problems.append("no answer for %s %s" % (method, url))
            return answer

        def life(index):
            session = authorized_session(emu)
            name = "par-life-%d" % index
            base = compute(emu, "zones/%s/instances" % ZONE)
            steps = [("POST", base, instance_body(name)), ("POST", base + "/%s/stop" % name, None),
                     ("POST", base + "/%s/start" % name, None), ("DELETE", base + "/" + name, None)]
            for method, url, body in steps:
                request_id = str(uuid.uuid4())
                answer = call(session, method, url, params={"requestId": request_id}, json=body)
                if answer.status_code != 200:
                    problems.append("%s %s -> %s %s" % (method, url, answer.status_code,
                                                        answer.text[:200]))
                    return
                op = answer.json()
                deadline = time.monotonic() + 30
                while op["status"] != "DONE" and time.monotonic() < deadline:
                    got = call(session, "POST", compute(emu, "zones/%s/operations/%s/wait"
                                                        % (ZONE, op["name"])))
                    op = got.json() if got.status_code == 200 else op
                if op["status"] != "DONE" or "error" in op:
                    problems.append("%s %s: %s" % (method, url, op))
                    return
        threads = [threading.Thread(target=life, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not problems, problems
        stats = emu.stats()
        assert stats["instances"] == 0
        assert stats["faults"]["injected"] + stats["faults"]["lost"] == 40 - stats["faults"][
            "budget_left"]
        assert stats["faults"]["injected"] > 0 and stats["faults"]["lost"] > 0
        unexpected = [line for line in emu.requests() if line["status"] >= 500 and
                      not line["faulted"]]
        assert unexpected == []
