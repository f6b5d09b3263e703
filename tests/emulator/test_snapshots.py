"""Snapshots and snapshot-schedule resource policies: API, errors, the schedule run now with
its retention, and the real gcloud CLI."""

import json
import os
import shutil
import subprocess
import time

import pytest
import requests

from emulator_helpers import PROJECT, ZONE, compute, instance_body, reason, wait

REGION = "us-central1"


def region_wait(session, emulator, operation, timeout=60):
    """Wait for a regional (or any) operation through its own selfLink's scope."""
    if "region" not in operation:
        return wait(session, emulator, operation, timeout)
    deadline = time.monotonic() + timeout
    scope = "regions/%s" % operation["region"].rsplit("/", 1)[1]
    while operation["status"] != "DONE":
        answer = session.post(compute(emulator, "%s/operations/%s/wait"
                                      % (scope, operation["name"])))
        assert answer.status_code == 200, answer.text
        operation = answer.json()
        assert time.monotonic() < deadline
    return operation


def do(session, emu, method, path, body=None, status=200):
    answer = session.request(method, compute(emu, path), json=body)
    assert answer.status_code == status, answer.text
    if status != 200:
        return answer
    result = answer.json()
    if result.get("kind") == "compute#operation":
        result = region_wait(session, emu, result)
        assert "error" not in result, result
    return result


def policy_body(name, **schedule):
    return {"name": name, "description": "nightly",
            "snapshotSchedulePolicy": {
                "schedule": schedule or {"dailySchedule": {"daysInCycle": 1,
                                                           "startTime": "04:00"}},
                "retentionPolicy": {"maxRetentionDays": 7,
                                    "onSourceDiskDelete": "APPLY_RETENTION_POLICY"},
                "snapshotProperties": {"labels": {"backup": "nightly"},
                                       "storageLocations": ["us"]}}}


def run_schedule(emu, name, elapsed_days=0, region=REGION):
    answer = requests.post(emu.endpoint + "/_emulator/resource-policies/run", timeout=30,
                           json={"project": PROJECT, "region": region, "name": name,
                                 "elapsed_days": elapsed_days})
    return answer


@pytest.fixture(scope="module")
def vm(session, emu):
    do(session, emu, "POST", "zones/%s/instances" % ZONE, instance_body("snap-vm"))
    return "snap-vm"


def test_resource_policy_lifecycle_and_errors(session, emu):
    created = do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION,
                 policy_body("nightly-a"))
    assert created["status"] == "DONE" and created["region"].endswith("/regions/" + REGION)
    got = do(session, emu, "GET", "regions/%s/resourcePolicies/nightly-a" % REGION)
    assert got["kind"] == "compute#resourcePolicy" and got["status"] == "READY"
    ssp = got["snapshotSchedulePolicy"]
    assert ssp["schedule"]["dailySchedule"]["startTime"] == "04:00"
    assert ssp["retentionPolicy"] == {"maxRetentionDays": 7,
                                      "onSourceDiskDelete": "APPLY_RETENTION_POLICY"}
    assert ssp["snapshotProperties"] == {"labels": {"backup": "nightly"},
                                         "storageLocations": ["us"]}
    listed = do(session, emu, "GET", "regions/%s/resourcePolicies" % REGION)
    assert [p["name"] for p in listed["items"]] == ["nightly-a"]
    assert "items" not in do(session, emu, "GET", "regions/europe-west1/resourcePolicies")
    aggregated = do(session, emu, "GET", "aggregated/resourcePolicies")
    assert aggregated["items"]["regions/%s" % REGION]["resourcePolicies"][0]["name"] == \
        "nightly-a"
    # errors, each before any change
    assert reason(do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION,
                     policy_body("nightly-a"), status=409)) == "alreadyExists"
    bad_time = policy_body("bad", dailySchedule={"daysInCycle": 1, "startTime": "04:30"})
    assert "MM : [00-00]" in do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION,
                                bad_time, status=400).json()["error"]["message"]
    two = policy_body("bad", dailySchedule={"daysInCycle": 1, "startTime": "04:00"},
                      hourlySchedule={"hoursInCycle": 4, "startTime": "01:00"})
    do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION, two, status=400)
    no_retention = policy_body("bad")
    del no_retention["snapshotSchedulePolicy"]["retentionPolicy"]
    assert reason(do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION,
                     no_retention, status=400)) == "required"
    do(session, emu, "POST", "regions/nowhere-1/resourcePolicies", policy_body("bad"),
       status=400)
    assert reason(do(session, emu, "GET", "regions/%s/resourcePolicies/bad" % REGION,
                     status=404)) == "notFound"
    # patch: what gcloud's update may change changes; the storage location cannot
    do(session, emu, "PATCH", "regions/%s/resourcePolicies/nightly-a" % REGION,
       {"snapshotSchedulePolicy": {"retentionPolicy": {"maxRetentionDays": 3}}})
    got = do(session, emu, "GET", "regions/%s/resourcePolicies/nightly-a" % REGION)
    assert got["snapshotSchedulePolicy"]["retentionPolicy"]["maxRetentionDays"] == 3
    assert got["snapshotSchedulePolicy"]["retentionPolicy"]["onSourceDiskDelete"] == \
        "APPLY_RETENTION_POLICY"
    answer = do(session, emu, "PATCH", "regions/%s/resourcePolicies/nightly-a" % REGION,
                {"snapshotSchedulePolicy": {"snapshotProperties": {"storageLocations": ["eu"]}}},
                status=400)
    assert "cannot be changed" in answer.json()["error"]["message"]
    do(session, emu, "DELETE", "regions/%s/resourcePolicies/nightly-a" % REGION)
    do(session, emu, "GET", "regions/%s/resourcePolicies/nightly-a" % REGION, status=404)


def test_manual_snapshot_labels_and_delete(session, emu, vm):
    disk = do(session, emu, "GET", "zones/%s/disks/%s" % (ZONE, vm))
    op = do(session, emu, "POST", "zones/%s/disks/%s/createSnapshot" % (ZONE, vm),
            {"name": "manual-1", "labels": {"kind": "manual"}})
    assert op["operationType"] == "createSnapshot" and op["targetLink"] == disk["selfLink"]
    snap = do(session, emu, "GET", "global/snapshots/manual-1")
    assert snap["status"] == "READY" and snap["sourceDisk"] == disk["selfLink"]
    assert snap["sourceDiskId"] == disk["id"] and snap["diskSizeGb"] == "20"
    assert snap["autoCreated"] is False and snap["storageLocations"] == ["us"]
    assert snap["labels"] == {"kind": "manual"} and "storageBytes" in snap
    assert not [k for k in snap if k.startswith("_")]
    assert reason(do(session, emu, "POST", "zones/%s/disks/%s/createSnapshot" % (ZONE, vm),
                     {"name": "manual-1"}, status=409)) == "alreadyExists"
    do(session, emu, "POST", "zones/%s/disks/nope/createSnapshot" % ZONE, {"name": "x"},
       status=404)
    # snapshots.insert with sourceDisk (what `gcloud compute snapshots create` sends)
    do(session, emu, "POST", "global/snapshots",
       {"name": "manual-2", "sourceDisk": "projects/%s/zones/%s/disks/%s" % (PROJECT, ZONE, vm)})
    names = [s["name"] for s in do(session, emu, "GET", "global/snapshots")["items"]]
    assert {"manual-1", "manual-2"} <= set(names)
    # setLabels needs the current fingerprint
    stale = do(session, emu, "POST", "global/snapshots/manual-1/setLabels",
               {"labels": {"a": "b"}, "labelFingerprint": "AAAAAAAAAAA="}, status=412)
    assert reason(stale) == "conditionNotMet"
    do(session, emu, "POST", "global/snapshots/manual-1/setLabels",
       {"labels": {"a": "b"}, "labelFingerprint": snap["labelFingerprint"]})
    assert do(session, emu, "GET", "global/snapshots/manual-1")["labels"] == {"a": "b"}
    for name in ("manual-1", "manual-2"):
        do(session, emu, "DELETE", "global/snapshots/" + name)
        do(session, emu, "GET", "global/snapshots/" + name, status=404)


def test_attach_run_now_retention_and_in_use(session, emu, vm):
    do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION, policy_body("daily-b"))
    do(session, emu, "POST", "regions/europe-west1/resourcePolicies", policy_body("daily-eu"))
    link = "projects/%s/regions/%s/resourcePolicies/daily-b" % (PROJECT, REGION)
    # the region must match the disk's zone; an unknown policy is a 404
    wrong = do(session, emu, "POST", "zones/%s/disks/%s/addResourcePolicies" % (ZONE, vm),
               {"resourcePolicies": ["projects/%s/regions/europe-west1/resourcePolicies/"
                                     "daily-eu" % PROJECT]}, status=400)
    assert "same region" in wrong.json()["error"]["message"]
    do(session, emu, "POST", "zones/%s/disks/%s/addResourcePolicies" % (ZONE, vm),
       {"resourcePolicies": [link + "x"]}, status=404)
    op = do(session, emu, "POST", "zones/%s/disks/%s/addResourcePolicies" % (ZONE, vm),
            {"resourcePolicies": [link]})
    assert op["operationType"] == "addResourcePolicies"
    disk = do(session, emu, "GET", "zones/%s/disks/%s" % (ZONE, vm))
    assert disk["resourcePolicies"] == ["https://www.googleapis.com/compute/v1/" + link]
    # in use: Google's resourceInUseByAnotherResource
    in_use = do(session, emu, "DELETE", "regions/%s/resourcePolicies/daily-b" % REGION,
                status=400)
    assert reason(in_use) == "resourceInUseByAnotherResource"
    assert "zones/%s/disks/%s" % (ZONE, vm) in in_use.json()["error"]["message"]

    first = run_schedule(emu, "daily-b").json()
    assert len(first["created"]) == 1 and first["deleted"] == []
    snap = do(session, emu, "GET", "global/snapshots/" + first["created"][0])
    assert snap["autoCreated"] is True and snap["status"] == "READY"
    assert snap["name"].startswith("%s-%s-" % (vm, ZONE))
    assert snap["labels"] == {"backup": "nightly"}
    assert snap["sourceSnapshotSchedulePolicy"].endswith(link)
    # four days later: both kept (7 days); ten days later: the two old ones expire
    second = run_schedule(emu, "daily-b", elapsed_days=4).json()
    assert second["deleted"] == []
    third = run_schedule(emu, "daily-b", elapsed_days=6).json()
    assert third["deleted"] == [first["created"][0]]
    fourth = run_schedule(emu, "daily-b", elapsed_days=2).json()
    assert fourth["deleted"] == [second["created"][0]]
    auto = [s["name"] for s in do(session, emu, "GET", "global/snapshots",
                                  )["items"] if s.get("autoCreated")]
    assert sorted(auto) == sorted(third["created"] + fourth["created"])
    filtered = do(session, emu, "GET", "global/snapshots?filter=autoCreated%3Dtrue")
    assert len(filtered["items"]) == 2
    assert run_schedule(emu, "nope").status_code == 404

    do(session, emu, "POST", "zones/%s/disks/%s/removeResourcePolicies" % (ZONE, vm),
       {"resourcePolicies": [link]})
    assert "resourcePolicies" not in do(session, emu, "GET", "zones/%s/disks/%s" % (ZONE, vm))
    do(session, emu, "POST", "zones/%s/disks/%s/removeResourcePolicies" % (ZONE, vm),
       {"resourcePolicies": [link]}, status=400)
    assert run_schedule(emu, "daily-b").json()["created"] == []
    do(session, emu, "DELETE", "regions/%s/resourcePolicies/daily-b" % REGION)
    do(session, emu, "DELETE", "regions/europe-west1/resourcePolicies/daily-eu")
    for name in auto:
        do(session, emu, "DELETE", "global/snapshots/" + name)


def test_request_id_replays_create_snapshot(session, emu, vm):
    url = compute(emu, "zones/%s/disks/%s/createSnapshot?requestId="
                  "5f0c1c2e-8a6b-4a57-9d5c-3b0c3c8e9a11" % (ZONE, vm))
    first = session.post(url, json={"name": "replayed"}).json()
    again = session.post(url, json={"name": "replayed"})
    assert again.status_code == 200 and again.json()["name"] == first["name"]
    do(session, emu, "DELETE", "global/snapshots/replayed")


def gcloud(emu, cfg, *args):
    env = dict(os.environ, **emu.gcloud_env(str(cfg)))
    done = subprocess.run(["gcloud", *args, "--format=json"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "null")


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud CLI not installed")
def test_gcloud_snapshot_schedule(session, emu, vm, tmp_path):
    created = gcloud(emu, tmp_path, "compute", "resource-policies", "create",
                     "snapshot-schedule", "gc-nightly", "--region", REGION, "--start-time",
                     "03:00", "--daily-schedule", "--max-retention-days", "5",
                     "--on-source-disk-delete", "apply-retention-policy",
                     "--snapshot-labels", "made-by=gcloud", "--storage-location", "us")
    assert created is None or created
    got = do(session, emu, "GET", "regions/%s/resourcePolicies/gc-nightly" % REGION)
    ssp = got["snapshotSchedulePolicy"]
    assert ssp["retentionPolicy"] == {"maxRetentionDays": 5,
                                      "onSourceDiskDelete": "APPLY_RETENTION_POLICY"}
    assert ssp["snapshotProperties"]["labels"] == {"made-by": "gcloud"}
    described = gcloud(emu, tmp_path, "compute", "resource-policies", "describe", "gc-nightly",
                       "--region", REGION)
    assert described["name"] == "gc-nightly"
    listed = gcloud(emu, tmp_path, "compute", "resource-policies", "list")
    assert [p["name"] for p in listed] == ["gc-nightly"]
    gcloud(emu, tmp_path, "compute", "disks", "add-resource-policies", vm, "--zone", ZONE,
           "--resource-policies", "gc-nightly")
    assert do(session, emu, "GET", "zones/%s/disks/%s" % (ZONE, vm))["resourcePolicies"]
    made = run_schedule(emu, "gc-nightly").json()["created"]
    listed = gcloud(emu, tmp_path, "compute", "snapshots", "list", "--filter",
                    "autoCreated=true")
    assert [s["name"] for s in listed] == made
    gcloud(emu, tmp_path, "compute", "disks", "remove-resource-policies", vm, "--zone", ZONE,
           "--resource-policies", "gc-nightly")
    # a manual snapshot and a disk restored from it
    gcloud(emu, tmp_path, "compute", "disks", "snapshot", vm, "--zone", ZONE,
           "--snapshot-names", "gc-manual")
    assert do(session, emu, "GET", "global/snapshots/gc-manual")["status"] == "READY"
    gcloud(emu, tmp_path, "compute", "disks", "create", "gc-restored", "--zone", ZONE,
           "--source-snapshot", "gc-manual")
    restored = do(session, emu, "GET", "zones/%s/disks/gc-restored" % ZONE)
    assert restored["sourceSnapshot"].endswith("/global/snapshots/gc-manual")
    assert restored["sizeGb"] == "20"
    gcloud(emu, tmp_path, "compute", "disks", "delete", "gc-restored", "--zone", ZONE, "--quiet")
    gcloud(emu, tmp_path, "compute", "snapshots", "delete", "gc-manual", "--quiet")
    gcloud(emu, tmp_path, "compute", "snapshots", "delete", made[0], "--quiet")
    gcloud(emu, tmp_path, "compute", "resource-policies", "delete", "gc-nightly", "--region",
           REGION, "--quiet")
    assert "items" not in do(session, emu, "GET", "global/snapshots")


def test_own_disk_snapshot_restore_and_orphans(session, emu):
    disks = "zones/%s/disks" % ZONE
    do(session, emu, "POST", disks, {"name": "state-a", "sizeGb": "30"})
    do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION, policy_body("keep-c"))
    keep = "projects/%s/regions/%s/resourcePolicies/keep-c" % (PROJECT, REGION)
    # disks.insert checks resourcePolicies as addResourcePolicies does
    wrong = do(session, emu, "POST", disks, {"name": "state-x", "resourcePolicies": [
        "projects/%s/regions/europe-west1/resourcePolicies/keep-c" % PROJECT]}, status=400)
    assert "same region" in wrong.json()["error"]["message"]
    do(session, emu, "POST", disks, {"name": "state-b", "sizeGb": "10", "resourcePolicies": [keep]})
    assert do(session, emu, "GET", disks + "/state-b")["resourcePolicies"] == [
        "https://www.googleapis.com/compute/v1/" + keep]
    do(session, emu, "POST", disks + "/state-a/addResourcePolicies", {"resourcePolicies": [keep]})
    made = run_schedule(emu, "keep-c").json()["created"]
    assert len(made) == 2 and any(name.startswith("state-a-") for name in made)

    # restore: the size defaults to the snapshot's and cannot be smaller
    snap_a = [name for name in made if name.startswith("state-a-")][0]
    too_small = do(session, emu, "POST", disks, {"name": "restored", "sizeGb": "20",
                                                 "sourceSnapshot": "global/snapshots/" + snap_a},
                   status=400)
    assert "cannot be smaller than the snapshot size" in too_small.json()["error"]["message"]
    do(session, emu, "POST", disks, {"name": "restored", "sourceSnapshot": "nope"}, status=404)
    do(session, emu, "POST", disks, {"name": "restored",
                                     "sourceSnapshot": "global/snapshots/" + snap_a})
    restored = do(session, emu, "GET", disks + "/restored")
    assert restored["sizeGb"] == "30" and restored["sourceSnapshot"].endswith("/" + snap_a)
    assert restored["sourceSnapshotId"] == do(session, emu, "GET",
                                              "global/snapshots/" + snap_a)["id"]

    # the source disk goes; with APPLY_RETENTION_POLICY its scheduled snapshots still expire,
    # with KEEP_AUTO_SNAPSHOTS they stay
    do(session, emu, "POST", disks + "/state-a/removeResourcePolicies", {"resourcePolicies": [keep]})
    do(session, emu, "DELETE", disks + "/state-a")
    do(session, emu, "PATCH", "regions/%s/resourcePolicies/keep-c" % REGION,
       {"snapshotSchedulePolicy": {"retentionPolicy": {"onSourceDiskDelete":
                                                       "KEEP_AUTO_SNAPSHOTS"}}})
    later = run_schedule(emu, "keep-c", elapsed_days=30).json()
    assert later["deleted"] == sorted(n for n in made if n != snap_a)  # state-b's old one
    do(session, emu, "GET", "global/snapshots/" + snap_a)
    do(session, emu, "PATCH", "regions/%s/resourcePolicies/keep-c" % REGION,
       {"snapshotSchedulePolicy": {"retentionPolicy": {"onSourceDiskDelete":
                                                       "APPLY_RETENTION_POLICY"}}})
    last = run_schedule(emu, "keep-c").json()
    assert last["deleted"] == [snap_a]
    for name in later["created"] + last["created"]:
        do(session, emu, "DELETE", "global/snapshots/" + name)
    do(session, emu, "DELETE", disks + "/state-b")
    do(session, emu, "DELETE", disks + "/restored")
    do(session, emu, "DELETE", "regions/%s/resourcePolicies/keep-c" % REGION)


# -- docker backend: snapshots hold the disk's bytes ------------------------------------------
def in_vm(vm, script):
    done = subprocess.run(["docker", "exec", "gce-%s-%s-%s" % (PROJECT, ZONE, vm), "sh", "-ec",
                           script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, "%s:\n%s%s" % (script, done.stdout, done.stderr)
    return done.stdout.strip()


def disk_image(disk):
    """The host path of a docker-backend disk's image file (emulator README)."""
    inspect = subprocess.run(["docker", "volume", "inspect",
                              "gcedisk-%s-%s-%s" % (PROJECT, ZONE, disk)],
                             capture_output=True, text=True, check=True)
    return json.loads(inspect.stdout)[0]["Mountpoint"] + "/disk.img"


def read_ext4(image, path):
    done = subprocess.run(["debugfs", "-R", "cat " + path, image], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.strip()


def volume_exists(name):
    return subprocess.run(["docker", "volume", "inspect", name], capture_output=True,
                          check=False).returncode == 0


@pytest.mark.docker
def test_docker_snapshot_holds_the_disk_data(tmp_path):
    from emulator.testing import Emulator  # pylint: disable=import-outside-toplevel
    from emulator_helpers import authorized_session  # pylint: disable=import-outside-toplevel
    suffix = os.urandom(3).hex()
    vm, disk = "sn-vm-" + suffix, "sn-state-" + suffix
    disks = "zones/%s/disks" % ZONE
    with Emulator(tmp_path / "state", backend="docker") as emu:
        session = authorized_session(emu)
        do(session, emu, "POST", disks, {"name": disk, "sizeGb": "10"})
        body = instance_body(vm, machine_type="e2-micro")
        body["disks"].append({"source": "projects/%s/zones/%s/disks/%s" % (PROJECT, ZONE, disk),
                              "deviceName": "state", "autoDelete": False})
        do(session, emu, "POST", "zones/%s/instances" % ZONE, body)
        in_vm(vm, "mkfs.ext4 -q /dev/disk/by-id/google-state && mkdir -p /mnt/s && "
                  "mount /dev/disk/by-id/google-state /mnt/s && echo before > /mnt/s/f.txt && "
                  "umount /mnt/s")   # a clean file system, as Google advises before a snapshot
        do(session, emu, "POST", disks + "/%s/createSnapshot" % disk, {"name": "sn-" + suffix})
        snap = do(session, emu, "GET", "global/snapshots/sn-" + suffix)
        assert snap["status"] == "READY"
        assert 0 < int(snap["storageBytes"]) < 10 * 1024 ** 3   # sparse: only what was written
        assert volume_exists("gcesnap-%s-sn-%s" % (PROJECT, suffix))
        in_vm(vm, "mount /dev/disk/by-id/google-state /mnt/s && echo after > /mnt/s/f.txt && "
                  "umount /mnt/s")

        # a scheduled snapshot copies the bytes too
        do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION, policy_body("sn-pol"))
        do(session, emu, "POST", disks + "/%s/addResourcePolicies" % disk,
           {"resourcePolicies": ["regions/%s/resourcePolicies/sn-pol" % REGION]})
        auto = run_schedule(emu, "sn-pol").json()["created"][0]
        assert int(do(session, emu, "GET", "global/snapshots/" + auto)["storageBytes"]) > 0

        # restore: a new, bigger disk from the first snapshot has the data of that moment
        do(session, emu, "POST", disks, {"name": "sn-back-" + suffix, "sizeGb": "12",
                                         "sourceSnapshot": "global/snapshots/sn-" + suffix})
        # read on the host from the disks' images (the new one is not attached)
        restored = disk_image("sn-back-" + suffix)
        assert os.path.getsize(restored) == 12 * 1024 ** 3
        assert read_ext4(restored, "/f.txt") == "before"
        assert read_ext4(disk_image(disk), "/f.txt") == "after"
        # deleting a snapshot removes its volume
        do(session, emu, "DELETE", "global/snapshots/sn-" + suffix)
        assert not volume_exists("gcesnap-%s-sn-%s" % (PROJECT, suffix))
    # the emulator's cleanup removes the other snapshot volumes with the rest
    assert not volume_exists("gcesnap-%s-%s" % (PROJECT, auto))


def test_restart_keeps_ready_snapshots_and_drops_unfinished(tmp_path):
    from emulator.testing import Emulator  # pylint: disable=import-outside-toplevel
    from emulator_helpers import authorized_session  # pylint: disable=import-outside-toplevel
    with Emulator(tmp_path / "state", backend="memory", latency=2) as emu:
        session = authorized_session(emu)
        do(session, emu, "POST", "zones/%s/instances" % ZONE, instance_body("rs-vm"))
        do(session, emu, "POST", "zones/%s/disks/rs-vm/createSnapshot" % ZONE, {"name": "kept"})
        do(session, emu, "POST", "regions/%s/resourcePolicies" % REGION, policy_body("rs-pol"))
        answer = session.post(compute(emu, "zones/%s/disks/rs-vm/createSnapshot" % ZONE),
                              json={"name": "cut-short"})
        assert answer.json()["status"] == "RUNNING"
        assert do(session, emu, "GET", "global/snapshots/cut-short")["status"] == "CREATING"
        emu.restart()
        session = authorized_session(emu)
        assert do(session, emu, "GET", "global/snapshots/kept")["status"] == "READY"
        do(session, emu, "GET", "global/snapshots/cut-short", status=404)
        assert do(session, emu, "GET", "regions/%s/resourcePolicies/rs-pol" % REGION)["name"]
