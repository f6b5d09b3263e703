"""Instance backends: ``memory`` (state only) and, in ``docker_backend``, real containers."""


class MemoryBackend:
    """Instances exist only in the emulator's state; every hook is a no-op."""

    name = "memory"
    asynchronous = False

    def create(self, inst):
        return {}

    def start(self, inst):
        return {}

    def stop(self, inst):
        pass

    def delete(self, inst):
        pass

    def set_machine_type(self, inst):
        pass

    def apply_metadata(self, inst):
        pass

    def suspend(self, inst):
        pass

    def resume(self, inst):
        pass

    def reset(self, inst):
        return {}

    # -- disks of their own (no devices) ---------------------------------------------------
    def create_disk(self, disk):
        pass

    def delete_disk(self, disk):
        pass

    def resize_disk(self, disk):
        pass

    def attach_disk(self, inst, disk, entry):
        pass

    def detach_disk(self, inst, disk, entry):
        pass

    def disk_image_path(self, disk):  # pylint: disable=unused-argument
        """Where the disk's bytes are on this machine: None, a memory disk has none."""
        return None

    def host_keys(self, inst):  # pylint: disable=unused-argument
        """None: the guest-attributes handler generates (and keeps) keys per instance."""
        return None

    def adopt(self, store):
        """After a restart: finish what was in flight (nothing runs any more)."""
        settle_in_flight(store)

    def close(self):
        pass


def settle_in_flight(store, status_of=None):
    """Bring instances and operations left mid-flight by a previous run to a final state.

    ``status_of(inst)`` may report the real state (``RUNNING``/``TERMINATED``/None = gone)."""
    final = {"PROVISIONING": "RUNNING", "STAGING": "RUNNING", "STOPPING": "TERMINATED",
             "SUSPENDING": "SUSPENDED"}
    with store.lock:
        for project in store.projects.values():
            if project["state"] == "CREATING":
                project["state"] = "ACTIVE"
            for zone, instances in project["instances"].items():
                for name in list(instances):
                    inst = instances[name]
                    if status_of:
                        real = status_of(inst)
                    else:
                        real = final.get(inst["status"], inst["status"])
                    if inst.get("_deleting") or real is None:
                        del instances[name]
                    elif real != inst["status"]:
                        inst["status"] = real
            for zone_disks in project.get("disks", {}).values():
                for name in list(zone_disks):
                    disk = zone_disks[name]
                    disk.pop("_busy", None)
                    if disk["status"] == "DELETING":
                        del zone_disks[name]
                    elif disk["status"] == "CREATING":
                        disk["status"] = "READY"
            for ops in project["operations"].values():
                for op in ops.values():
                    if op["status"] != "DONE":
                        op["status"] = "DONE"
                        op["progress"] = 100
                        op["endTime"] = op.get("startTime")
        for op in store.lro.values():
            if not op.get("done"):
                op["done"] = True
                op["response"] = op.pop("_response", {})
        store.touch()
