"""Instances: reads, insert, state changes, set* methods."""

import copy
import ipaddress

from . import catalog, util
from .common import (DISK_TYPES, SHARED_FEATURES, list_body, paginate, published,
                     resource_name, validate_labels, validate_metadata_items, validate_tags)
from .errors import ApiError, already_exists, condition_not_met, invalid, not_found, not_ready
from .ops import OperationFailed, new_operation


# What Google itself puts on a new VM besides the caller's labels: the Ops Agent policy that the
# Cloud console enables by default labels the VMs it manages. Clients must keep keys they do
# not own (on by default; --no-google-labels turns it off).
GOOGLE_LABELS = {"goog-ops-agent-policy": "v2-x86-template-1-4-0"}


SHIELDED_DEFAULTS = {"enableSecureBoot": False, "enableVtpm": True, "enableIntegrityMonitoring": True}


def shielded_config(given, current=None):
    """Google's Shielded VM settings: the defaults (or ``current``) updated with what was given."""
    out = dict(current or SHIELDED_DEFAULTS)
    for key, value in (given or {}).items():
        if key not in SHIELDED_DEFAULTS:
            raise invalid("resource.shieldedInstanceConfig.%s" % key, value, "Unknown field.")
        if not isinstance(value, bool):
            raise invalid("resource.shieldedInstanceConfig.%s" % key, value, "Must be a boolean.")
        out[key] = value
    return out


class InstancesMixin:
    """``instances``."""

    def _instance(self, project, zone, name):
        inst = project["instances"].get(zone, {}).get(name)
        if inst is None:
            raise not_found("projects/%s/zones/%s/instances/%s"
                            % (project["projectId"], zone, name))
        return inst

    def get_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            return 200, published(self._instance(proj, zone, name))

    def list_instances(self, req, project, zone):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            items = list(proj["instances"].get(zone, {}).values())
            page, token = paginate(items, req.query, lambda i: [i["name"]], published)
        return 200, list_body("compute#instanceList", "projects/%s/zones/%s/instances"
                              % (project, zone), page, token)

    def aggregated_instances(self, req, project):
        with self.store.lock:
            proj = self.project(project)
            rows = [i for z in proj["instances"].values() for i in z.values()]
            page, token = paginate(rows, req.query,
                                   lambda i: [i["zone"].rsplit("/", 1)[1], i["name"]], published)
        return 200, self._aggregate("compute#instanceAggregatedList", "instances",
                                    "projects/%s/aggregated/instances" % project, page, token,
                                    lambda i: i["zone"].rsplit("/", 1)[1])

    def insert_instance(self, req, project, zone):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            name = resource_name(body)
            path = "projects/%s/zones/%s/instances/%s" % (project, zone, name)
            if name in proj["instances"].get(zone, {}):
                raise already_exists(path)
            inst = self.build_instance(proj, zone, body)
            proj["instances"].setdefault(zone, {})[name] = inst
            self.claim_disks(proj, inst)
            self.store.touch()
            spec = catalog.machine_spec(inst["machineType"].rsplit("/", 1)[1])
            op = new_operation(project, "zones/" + zone, "insert", inst["selfLink"], inst["id"],
                               req.user, zone=zone)
        key = (project, zone, name, inst["id"])
        latency = self.latency
        region = catalog.ZONES[zone]

        def job(j):
            j.sleep(latency / 2)
            if spec[0] > catalog.CPU_QUOTA:
                raise OperationFailed("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded.  Limit: %.1f in "
                                      "region %s." % (catalog.CPU_QUOTA, region), 403)
            snap = self._transition(key, ("PROVISIONING",), "STAGING")
            if snap is None:
                return
            updates = self.backend.create(self._guest_view(project, snap))
            j.sleep(latency / 2)
            self._transition(key, ("STAGING",), "RUNNING", updates, started=True)

        def cleanup(error):
            with self.store.lock:
                snap = self._get(key)
                if snap is not None:
                    del proj["instances"][zone][name]
                    self.release_disks(proj, snap, delete_auto=False)
                    self.store.touch()
            if snap is not None and error.code != "QUOTA_EXCEEDED":
                self.backend.delete(snap)

        return 200, self.runner.launch(project, "zones/" + zone, op, job, self.sync, cleanup)

    def build_instance(self, proj, zone, body):
        project = proj["projectId"]
        mt_ref = body.get("machineType")
        mt_name = util.last_segment(mt_ref, "machineTypes")
        mt_zone = util.segment(mt_ref or "", "zones")
        if not mt_ref:
            raise ApiError(400, "required", "Required field 'resource.machineType' not "
                           "specified")
        if mt_name is None or catalog.machine_spec(mt_name) is None or \
                (mt_zone and mt_zone != zone):
            raise invalid("resource.machineType", mt_ref, "Machine type with name '%s' does not "
                          "exist in zone '%s'." % (mt_name, zone))
        disks = body.get("disks") or []
        if not disks:
            raise invalid("resource.disks", "", "No disks are specified.")
        boots = [d for d in disks if d.get("boot")] or disks[:1]
        if len(boots) != 1:
            raise invalid("resource.disks", "", "Exactly one boot disk must be specified.")
        boot = boots[0]
        params = boot.get("initializeParams") or {}
        if not params.get("sourceImage"):
            if boot.get("source"):
                raise invalid("resource.disks[0].source", boot["source"],
                              "The referenced disk resource cannot be found.")
            raise ApiError(400, "required", "Required field 'resource.disks[0].initializeParams"
                           ".sourceImage' not specified")
        image_project, image = self.resolve_image(params["sourceImage"], project,
                                                  "resource.disks[0].initializeParams."
                                                  "sourceImage")
        try:
            size = int(params.get("diskSizeGb") or catalog.IMAGE_DISK_GB)
        except (TypeError, ValueError):
            raise invalid("resource.disks[0].initializeParams.diskSizeGb",
                          params.get("diskSizeGb"), "Must be an integer.") from None
        if size < catalog.IMAGE_DISK_GB:
            raise invalid("resource.disks[0].initializeParams.diskSizeGb", size,
                          "Requested disk size cannot be smaller than the image size (%d GB)"
                          % catalog.IMAGE_DISK_GB)
        if size > 65536:
            raise invalid("resource.disks[0].initializeParams.diskSizeGb", size,
                          "Disk size cannot be larger than 65536 GB.")
        disk_type = util.last_segment(params.get("diskType") or "pd-standard", "diskTypes")
        if disk_type not in DISK_TYPES:
            raise invalid("resource.disks[0].initializeParams.diskType", params.get("diskType"),
                          "The referenced diskType resource cannot be found.")
        nics = body.get("networkInterfaces") or []
        if not nics:
            raise invalid("resource.networkInterfaces", "",
                          "At least one network interface is required.")
        if len(nics) > 1:
            raise invalid("resource.networkInterfaces", "",
                          "The emulator supports one network interface.")
        nic = nics[0]
        if nic.get("network") and util.last_segment(nic["network"], "networks") != "default":
            raise invalid("resource.networkInterfaces[0].network", nic["network"],
                          "The referenced network resource cannot be found.")
        labels = validate_labels(body.get("labels"), "resource.labels")
        if self.google_labels:
            labels = dict(GOOGLE_LABELS, **labels)
        metadata = body.get("metadata") or {}
        items = validate_metadata_items(metadata.get("items"), "resource.metadata")
        tags = validate_tags((body.get("tags") or {}).get("items"), "resource.tags.items")
        region = catalog.ZONES[zone]
        with self.store.lock:
            counters = self.store.meta["next_ip"]
            counters[region] = counters.get(region, 1) + 1
            # The region's auto mode range: .0 is the network, .1 the gateway, then VMs.
            subnet = ipaddress.ip_network(self._subnet_cidr(region))
            internal_ip = str(subnet[2 + (counters[region] - 2) % (subnet.num_addresses - 4)])
        inst_id = util.new_id()
        path = "projects/%s/zones/%s/instances/%s" % (project, zone, body["name"])
        extras = self.extra_disks(proj, zone, util.link(path), [d for d in disks if d is not boot],
                                  params.get("diskName") or body["name"])
        nic_out = {
            "kind": "compute#networkInterface",
            "network": util.link("projects/%s/global/networks/default" % project),
            "subnetwork": util.link("projects/%s/regions/%s/subnetworks/default"
                                    % (project, region)),
            "networkIP": internal_ip, "name": "nic0", "stackType": "IPV4_ONLY",
            "fingerprint": util.fingerprint([inst_id, "nic"]),
        }
        if nic.get("accessConfigs"):
            access = nic["accessConfigs"][0]
            # A natIP in the request is a reserved (static) address: it stays through stop
            # and start. Otherwise the address is ephemeral (released on stop).
            nic_out["accessConfigs"] = [{
                "kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT",
                "name": access.get("name", "External NAT"),
                "natIP": access.get("natIP") or self._ephemeral_ip(),
                "networkTier": access.get("networkTier", "PREMIUM"),
                "_static": bool(access.get("natIP"))}]
        licenses = ["https://www.googleapis.com/compute/v1/projects/debian-cloud/global/"
                    "licenses/debian-%s-%s" % (image[2], image[3])]
        service_accounts = body.get("serviceAccounts")
        if service_accounts is None:
            service_accounts = [{"email": "default", "scopes": [
                "https://www.googleapis.com/auth/devstorage.read_only",
                "https://www.googleapis.com/auth/logging.write",
                "https://www.googleapis.com/auth/monitoring.write"]}]
        service_accounts = [dict(sa, email=sa.get("email") if sa.get("email") != "default"
                                 else "%s-compute@developer.gserviceaccount.com" % proj["number"])
                            for sa in service_accounts]
        scheduling = {"onHostMaintenance": "MIGRATE", "automaticRestart": True,
                      "preemptible": False, "provisioningModel": "STANDARD"}
        scheduling.update(body.get("scheduling") or {})
        inst = {
            "kind": "compute#instance",
            "id": inst_id,
            "creationTimestamp": util.timestamp(),
            "name": body["name"],
            "description": body.get("description", ""),
            "tags": {"fingerprint": util.fingerprint([tags, inst_id])},
            "machineType": util.link("projects/%s/zones/%s/machineTypes/%s"
                                     % (project, zone, mt_name)),
            "status": "PROVISIONING",
            "zone": util.link("projects/%s/zones/%s" % (project, zone)),
            "canIpForward": bool(body.get("canIpForward", False)),
            "networkInterfaces": [nic_out],
            "disks": [{
                "kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": "READ_WRITE",
                "source": util.link("projects/%s/zones/%s/disks/%s" % (
                    project, zone, params.get("diskName") or body["name"])),
                "deviceName": boot.get("deviceName") or params.get("diskName") or body["name"],
                "index": 0, "boot": True, "autoDelete": bool(boot.get("autoDelete", True)),
                "licenses": licenses, "interface": "SCSI", "guestOsFeatures": SHARED_FEATURES,
                "diskSizeGb": str(size), "architecture": "X86_64"}] + extras,
            "metadata": {"kind": "compute#metadata",
                         "fingerprint": util.fingerprint([items, inst_id]), "items": items},
            "serviceAccounts": service_accounts,
            "selfLink": util.link(path),
            "scheduling": scheduling,
            "cpuPlatform": "Unknown CPU Platform",
            "labels": labels,
            "labelFingerprint": util.fingerprint([labels, inst_id]),
            "startRestricted": False,
            "deletionProtection": bool(body.get("deletionProtection", False)),
            "shieldedInstanceConfig": shielded_config(body.get("shieldedInstanceConfig")),
            "shieldedInstanceIntegrityPolicy": {"updateAutoLearnPolicy": True},
            "reservationAffinity": body.get("reservationAffinity") or {
                "consumeReservationType": "ANY_RESERVATION"},
            "displayDevice": {"enableDisplay": bool((body.get("displayDevice") or {})
                                                    .get("enableDisplay", False))},
            "keyRevocationActionType": body.get("keyRevocationActionType") or "NONE",
            "satisfiesPzi": True,
            "fingerprint": util.fingerprint([inst_id, 0]),
            "_disk": {"name": params.get("diskName") or body["name"], "id": util.new_id(),
                      "sizeGb": str(size), "type": disk_type, "image": [image_project, image[0]],
                      "family": image[1]},
        }
        if tags:
            inst["tags"]["items"] = tags
        if body.get("hostname"):
            inst["hostname"] = body["hostname"]
        return inst

    def _ephemeral_ip(self):
        """A new ephemeral external address (memory backend), unique across regions, from
        198.18.0.0/15 (RFC 2544: reserved for benchmarks, never routed on the internet): the
        memory backend's VMs are not reachable and must not look like someone's address."""
        with self.store.lock:
            serial = self.store.meta.get("next_nat", 0) + 1
            self.store.meta["next_nat"] = serial
        return "198.%d.%d.%d" % (18 + serial // 65536 % 2, serial // 256 % 256, serial % 256)

    # -- instances: state changes ----------------------------------------------------------
    def _get(self, key):
        project, zone, name, inst_id = key
        proj = self.store.projects.get(project)
        inst = proj["instances"].get(zone, {}).get(name) if proj else None
        if inst is None or inst["id"] != inst_id:
            return None
        return inst

    def _guest_view(self, project, snap):
        """What the guest agent sees: the instance plus the project's ``ssh-keys`` (unless the
        instance sets ``block-project-ssh-keys``)."""
        items = {i["key"]: i.get("value", "") for i in snap["metadata"].get("items", [])}
        if str(items.get("block-project-ssh-keys", "")).lower() != "true":
            with self.store.lock:
                proj = self.store.projects.get(project)
                common = proj["metadata"].get("items", []) if proj else []
            snap["_project_ssh_keys"] = "\n".join(
                i.get("value", "") for i in common if i["key"] in ("ssh-keys", "sshKeys"))
        return snap

    def _transition(self, key, from_states, to_state, updates=None, started=False,
                    stopped=False):
        """Move an instance between states; returns a snapshot or None if it is gone."""
        with self.store.lock:
            inst = self._get(key)
            if inst is None or inst["status"] not in from_states:
                return None
            inst["status"] = to_state
            for field, value in (updates or {}).items():
                if field == "natIP":
                    for access in inst["networkInterfaces"][0].get("accessConfigs", []):
                        access["natIP"] = value
                elif field == "networkIP":
                    inst["networkInterfaces"][0]["networkIP"] = value
                else:
                    inst[field] = value
            access_configs = inst["networkInterfaces"][0].get("accessConfigs", [])
            if started:
                inst["lastStartTimestamp"] = util.timestamp()
                inst["cpuPlatform"] = "Intel Broadwell"
                for access in access_configs:
                    if not access.get("natIP"):
                        access["natIP"] = self._ephemeral_ip()
            if stopped:
                inst["lastStopTimestamp"] = util.timestamp()
                inst["cpuPlatform"] = "Unknown CPU Platform"
                # Google releases an ephemeral external address on stop (the access config
                # stays, without natIP) and hands out a new one on start.
                for access in access_configs:
                    if not access.get("_static"):
                        access.pop("natIP", None)
            self._refingerprint(inst)
            self.store.touch()
            return copy.deepcopy(inst)

    @staticmethod
    def _refingerprint(inst):
        inst["fingerprint"] = util.fingerprint([inst["id"], inst["status"], inst["machineType"],
                                                inst["labels"], inst["metadata"], inst["tags"]])

    def _zone_op(self, req, proj, zone, inst, op_type, job, on_error=None, sync=None):
        op = new_operation(proj["projectId"], "zones/" + zone, op_type, inst["selfLink"],
                           inst["id"], req.user, zone=zone)
        return 200, self.runner.launch(proj["projectId"], "zones/" + zone, op, job,
                                       self.sync if sync is None else sync, on_error)

    def delete_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            if inst.get("deletionProtection"):
                raise ApiError(400, "resourceInUseByAnotherResource", "Invalid resource usage: "
                               "'Resource cannot be deleted if it's protected against "
                               "deletion.'")
            key = (project, zone, name, inst["id"])
            inst["status"] = "STOPPING"
            inst["_deleting"] = True
            self.store.touch()
        latency = self.latency

        def job(j):
            j.sleep(latency)
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.delete(snap)
            deleted = []
            with self.store.lock:
                if self._get(key) is not None:
                    del proj["instances"][zone][name]
                    deleted = self.release_disks(proj, snap, delete_auto=True)
                    self.store.touch()
            for disk in deleted:
                self.backend.delete_disk(disk)
        return self._zone_op(req, proj, zone, inst, "delete", job)

    def stop_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "TERMINATED":
                return self._zone_op(req, proj, zone, inst, "stop", lambda j: None, sync=True)
            if inst["status"] != "RUNNING" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "STOPPING"
            self.store.touch()
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.stop(snap)
            j.sleep(latency)
            self._transition(key, ("STOPPING",), "TERMINATED", stopped=True)
        return self._zone_op(req, proj, zone, inst, "stop", job)

    def start_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "RUNNING":
                return self._zone_op(req, proj, zone, inst, "start", lambda j: None, sync=True)
            if inst["status"] != "TERMINATED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "STAGING"
            self.store.touch()
        latency = self.latency

        def job(j):
            j.sleep(latency / 2)
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None or snap["status"] != "STAGING":
                return
            updates = self.backend.start(self._guest_view(project, snap))
            j.sleep(latency / 2)
            self._transition(key, ("STAGING",), "RUNNING", updates, started=True)

        def back_to_terminated(error):
            self._transition(key, ("STAGING",), "TERMINATED")
        return self._zone_op(req, proj, zone, inst, "start", job, back_to_terminated)

    def set_machine_type(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            ref = body.get("machineType")
            if not ref:
                raise ApiError(400, "required", "Required field 'machineType' not specified")
            mt_name = util.last_segment(ref, "machineTypes")
            mt_zone = util.segment(ref, "zones")
            if mt_name is None or catalog.machine_spec(mt_name) is None or \
                    (mt_zone and mt_zone != zone):
                raise invalid("machineType", ref, "Machine type with name '%s' does not exist "
                              "in zone '%s'." % (mt_name, zone))
            if inst["status"] != "TERMINATED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            key = (project, zone, name, inst["id"])
            new_link = util.link("projects/%s/zones/%s/machineTypes/%s"
                                 % (project, zone, mt_name))
        latency = self.latency
        region = catalog.ZONES[zone]

        def job(j):
            j.sleep(latency)
            if catalog.machine_spec(mt_name)[0] > catalog.CPU_QUOTA:
                raise OperationFailed("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded.  Limit: %.1f in "
                                      "region %s." % (catalog.CPU_QUOTA, region), 403)
            with self.store.lock:
                current = self._get(key)
                if current is None:
                    return
                snap = copy.deepcopy(current)
            snap["machineType"] = new_link
            self.backend.set_machine_type(snap)
            with self.store.lock:
                current = self._get(key)
                if current is not None:
                    current["machineType"] = new_link
                    self._refingerprint(current)
                    self.store.touch()
        return self._zone_op(req, proj, zone, inst, "setMachineType", job)

    def set_labels(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            labels = validate_labels(body.get("labels"), "labels")
            if not util.same_fingerprint(body.get("labelFingerprint"), inst["labelFingerprint"]):
                raise condition_not_met("Labels fingerprint either invalid or resource labels "
                                        "have changed")
            inst["labels"] = labels
            inst["labelFingerprint"] = util.fingerprint([labels, inst["id"], util.etag()])
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setLabels", lambda j: j.sleep(latency))

    def set_tags(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            tags = validate_tags(body.get("items"), "tags.items")
            if not util.same_fingerprint(body.get("fingerprint"), inst["tags"]["fingerprint"]):
                raise condition_not_met("Supplied fingerprint does not match current tags "
                                        "fingerprint.")
            inst["tags"] = {"fingerprint": util.fingerprint([tags, inst["id"], util.etag()])}
            if tags:
                inst["tags"]["items"] = tags
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setTags", lambda j: j.sleep(latency))

    def set_metadata(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            items = validate_metadata_items(body.get("items"), "metadata")
            if not util.same_fingerprint(body.get("fingerprint"), inst["metadata"]["fingerprint"]):
                raise condition_not_met("Supplied fingerprint does not match current metadata "
                                        "fingerprint.")
            inst["metadata"] = {"kind": "compute#metadata", "items": items,
                                "fingerprint": util.fingerprint([items, inst["id"],
                                                                 util.etag()])}
            self._refingerprint(inst)
            self.store.touch()
            key = (project, zone, name, inst["id"])
        latency = self.latency
        backend = self.backend

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is not None and snap["status"] == "RUNNING":
                backend.apply_metadata(self._guest_view(project, snap))
            j.sleep(latency)
        return self._zone_op(req, proj, zone, inst, "setMetadata", job)

    def set_deletion_protection(self, req, project, zone, name):
        value = str(req.query.get("deletionProtection", "true")).lower()
        if value not in ("true", "false"):
            raise invalid("deletionProtection", value, "Must be a boolean.")
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            inst["deletionProtection"] = value == "true"
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setDeletionProtection",
                             lambda j: j.sleep(latency))

    def set_service_account(self, req, project, zone, name):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            if inst["status"] != "TERMINATED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            email = body.get("email") or ""
            if email == "default":
                email = "%s-compute@developer.gserviceaccount.com" % proj["number"]
            if email and "@" not in email:
                raise invalid("email", email, "Must be a service account email.")
            scopes = list(body.get("scopes") or [])
            inst["serviceAccounts"] = [{"email": email, "scopes": scopes}] if email else []
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "setServiceAccount",
                             lambda j: j.sleep(latency))

    def update_shielded_config(self, req, project, zone, name):
        """``PATCH instances/N/updateShieldedInstanceConfig``: only on a stopped instance."""
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            if inst["status"] != "TERMINATED" or inst.get("_deleting"):
                raise invalid("resource", "projects/%s/zones/%s/instances/%s" % (project, zone, name),
                              "The instance must be stopped to update its Shielded VM configuration.")
            inst["shieldedInstanceConfig"] = shielded_config(req.body or {}, inst["shieldedInstanceConfig"])
            self._refingerprint(inst)
            self.store.touch()
        latency = self.latency
        return self._zone_op(req, proj, zone, inst, "updateShieldedInstanceConfig",
                             lambda j: j.sleep(latency))

    def suspend_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "SUSPENDED":
                return self._zone_op(req, proj, zone, inst, "suspend", lambda j: None, sync=True)
            if inst["status"] != "RUNNING" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "SUSPENDING"
            self.store.touch()
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.suspend(snap)
            j.sleep(latency)
            self._transition(key, ("SUSPENDING",), "SUSPENDED")
        return self._zone_op(req, proj, zone, inst, "suspend", job)

    def resume_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] == "RUNNING":
                return self._zone_op(req, proj, zone, inst, "resume", lambda j: None, sync=True)
            if inst["status"] != "SUSPENDED" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            inst["status"] = "STAGING"
            self.store.touch()
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            self.backend.resume(snap)
            j.sleep(latency)
            self._transition(key, ("STAGING",), "RUNNING")
        return self._zone_op(req, proj, zone, inst, "resume", job)

    def reset_instance(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            inst = self._instance(proj, zone, name)
            key = (project, zone, name, inst["id"])
            if inst["status"] != "RUNNING" or inst.get("_deleting"):
                raise not_ready("projects/%s/zones/%s/instances/%s" % (project, zone, name))
        latency = self.latency

        def job(j):
            with self.store.lock:
                snap = copy.deepcopy(self._get(key))
            if snap is None:
                return
            updates = self.backend.reset(self._guest_view(project, snap))
            j.sleep(latency)
            self._transition(key, ("RUNNING",), "RUNNING", updates, started=True)
        return self._zone_op(req, proj, zone, inst, "reset", job)
