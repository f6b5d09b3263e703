"""Regional resource policies: snapshot schedules (``snapshotSchedulePolicy``), their
attachment to disks (``disks.addResourcePolicies`` / ``removeResourcePolicies``) and the
emulator's "run the schedule now" (snapshots of every disk carrying the policy, then retention).

Other kinds of resource policy (instance schedules, placement) are not emulated: Google accepts
them, the emulator refuses them with a 400 that says so."""

import re

from . import catalog, util
from .common import list_body, paginate, published, validate_labels
from .errors import ApiError, already_exists, invalid, not_found, required
from .ops import new_operation

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
ON_DELETE = ("KEEP_AUTO_SNAPSHOTS", "APPLY_RETENTION_POLICY", "UNSPECIFIED_ON_SOURCE_DISK_DELETE")
START_TIME = re.compile(r"^([01][0-9]|2[0-3]):00$")
# The window Google gives a scheduled snapshot to start in (output only).
WINDOW = "PT14400S"
OTHER_POLICIES = ("groupPlacementPolicy", "instanceSchedulePolicy", "diskConsistencyGroupPolicy",
                  "workloadPolicy")


def policy_path(project, region, name):
    return "projects/%s/regions/%s/resourcePolicies/%s" % (project, region, name)


def _start_time(value, field):
    if not isinstance(value, str) or not START_TIME.match(value):
        raise invalid(field, value, "It must be in format 'HH:MM', where HH : [00-23] and "
                      "MM : [00-00] GMT.")
    return value


def _schedule(given):
    """A validated ``schedule`` (exactly one of hourly, daily, weekly), with the output-only
    ``duration`` Google adds."""
    field = "resource.snapshotSchedulePolicy.schedule"
    if not isinstance(given, dict):
        raise required(field)
    kinds = [k for k in ("hourlySchedule", "dailySchedule", "weeklySchedule") if given.get(k)]
    if len(kinds) != 1:
        raise invalid(field, "", "Exactly one of hourlySchedule, dailySchedule or weeklySchedule "
                      "must be specified.")
    kind = kinds[0]
    spec = given[kind]
    where = "%s.%s" % (field, kind)
    if kind == "hourlySchedule":
        hours = spec.get("hoursInCycle")
        if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 23:
            raise invalid(where + ".hoursInCycle", hours, "Must be between 1 and 23.")
        return {kind: {"hoursInCycle": hours,
                       "startTime": _start_time(spec.get("startTime"), where + ".startTime"),
                       "duration": WINDOW}}
    if kind == "dailySchedule":
        days = spec.get("daysInCycle")
        if days != 1 or isinstance(days, bool):
            raise invalid(where + ".daysInCycle", days, "Snapshot schedules support only "
                          "1 day in cycle.")
        return {kind: {"daysInCycle": 1,
                       "startTime": _start_time(spec.get("startTime"), where + ".startTime"),
                       "duration": WINDOW}}
    entries = spec.get("dayOfWeeks")
    if not isinstance(entries, list) or not entries:
        raise required(where + ".dayOfWeeks")
    out, seen = [], set()
    for index, entry in enumerate(entries):
        day = (entry or {}).get("day")
        if day not in DAYS:
            raise invalid("%s.dayOfWeeks[%d].day" % (where, index), day,
                          "Must be one of %s." % ", ".join(DAYS))
        if day in seen:
            raise invalid("%s.dayOfWeeks" % where, day, "Duplicate day of week.")
        seen.add(day)
        out.append({"day": day, "startTime": _start_time(entry.get("startTime"),
                                                         "%s.dayOfWeeks[%d].startTime"
                                                         % (where, index)),
                    "duration": WINDOW})
    return {kind: {"dayOfWeeks": out}}


def storage_location(value, field):
    """A multi-region (``us``, ``eu``, ``asia``) or a known region."""
    if value not in ("us", "eu", "asia") and value not in catalog.REGIONS:
        raise invalid(field, value, "Storage location must be a valid multi-region or region.")
    return value


def snapshot_schedule_policy(given):
    """A validated ``snapshotSchedulePolicy`` as Google answers it."""
    if not isinstance(given, dict):
        raise required("resource.snapshotSchedulePolicy")
    field = "resource.snapshotSchedulePolicy"
    retention = given.get("retentionPolicy")
    if not isinstance(retention, dict) or retention.get("maxRetentionDays") is None:
        raise required(field + ".retentionPolicy.maxRetentionDays")
    days = retention["maxRetentionDays"]
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 65536:
        raise invalid(field + ".retentionPolicy.maxRetentionDays", days,
                      "Must be between 1 and 65536.")
    on_delete = retention.get("onSourceDiskDelete") or "KEEP_AUTO_SNAPSHOTS"
    if on_delete not in ON_DELETE:
        raise invalid(field + ".retentionPolicy.onSourceDiskDelete", on_delete,
                      "Must be one of %s." % ", ".join(ON_DELETE[:2]))
    props = given.get("snapshotProperties") or {}
    out_props = {}
    labels = validate_labels(props.get("labels"), field + ".snapshotProperties.labels")
    if labels:
        out_props["labels"] = labels
    locations = props.get("storageLocations") or []
    if not isinstance(locations, list) or len(locations) > 1:
        raise invalid(field + ".snapshotProperties.storageLocations", locations,
                      "At most one storage location may be specified.")
    if locations:
        out_props["storageLocations"] = [
            storage_location(locations[0], field + ".snapshotProperties.storageLocations[0]")]
    if props.get("guestFlush"):
        out_props["guestFlush"] = True
    if props.get("chainName"):
        out_props["chainName"] = str(props["chainName"])
    out = {"schedule": _schedule(given.get("schedule")),
           "retentionPolicy": {"maxRetentionDays": days, "onSourceDiskDelete": on_delete}}
    if out_props:
        out["snapshotProperties"] = out_props
    return out


class ResourcePoliciesMixin:
    """``resourcePolicies`` (regional) and ``disks.addResourcePolicies`` /
    ``disks.removeResourcePolicies``."""

    @staticmethod
    def _policies(proj, region):
        return proj.setdefault("resourcePolicies", {}).setdefault(region, {})

    def _policy(self, proj, region, name):
        policy = self._policies(proj, region).get(name)
        if policy is None:
            raise not_found(policy_path(proj["projectId"], region, name))
        return policy

    def _region_op(self, req, project, region, op_type, target_link, target_id, job=None):
        op = new_operation(project, "regions/" + region, op_type, target_link, target_id,
                           req.user)
        op["region"] = util.link("projects/%s/regions/%s" % (project, region))
        latency = self.latency

        def run(j):
            if job:
                job(j)
            j.sleep(latency)
        return 200, self.runner.launch(project, "regions/" + region, op, run,
                                       sync=self.latency <= 0)

    def policy_users(self, proj, link):
        """Links of the disks that carry the policy ``link``."""
        return sorted(view["selfLink"] for record, view in self._all_disks(proj)
                      if link in (record.get("resourcePolicies") or []))

    # -- resourcePolicies ----------------------------------------------------------------
    def list_resource_policies(self, req, project, region):
        with self.store.lock:
            proj = self.project(project)
            self.region(region)
            items = [published(p) for p in self._policies(proj, region).values()]
        page, token = paginate(items, req.query, lambda p: [p["name"]])
        return 200, list_body("compute#resourcePolicyList",
                              "projects/%s/regions/%s/resourcePolicies" % (project, region),
                              page, token)

    def aggregated_resource_policies(self, req, project):
        scopes = ["regions/" + r for r in sorted(catalog.REGIONS)]
        with self.store.lock:
            proj = self.project(project)
            rows = [published(p) for region in proj.get("resourcePolicies", {}).values()
                    for p in region.values()]
        page, token = paginate(rows, req.query,
                               lambda p: [p["region"].rsplit("/", 1)[1], p["name"]])
        return 200, self._aggregate("compute#resourcePolicyAggregatedList", "resourcePolicies",
                                    "projects/%s/aggregated/resourcePolicies" % project, page,
                                    token, lambda p: "regions/" + p["region"].rsplit("/", 1)[1],
                                    scopes)

    def get_resource_policy(self, req, project, region, name):
        with self.store.lock:
            proj = self.project(project)
            self.region(region)
            return 200, published(self._policy(proj, region, name))

    def insert_resource_policy(self, req, project, region):
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.region(region)
            name = body.get("name")
            if not isinstance(name, str) or not util.RFC1035.match(name):
                raise invalid("resource.name", name, "Must be a match of regex '%s'"
                              % util.RFC1035_TEXT)
            others = [k for k in OTHER_POLICIES if body.get(k)]
            if others:
                raise invalid("resource", "", "The emulator implements snapshot schedule "
                              "policies only, not %s." % others[0])
            schedule = snapshot_schedule_policy(body.get("snapshotSchedulePolicy"))
            path = policy_path(project, region, name)
            policies = self._policies(proj, region)
            if name in policies:
                raise already_exists(path)
            policy = {
                "kind": "compute#resourcePolicy", "id": util.new_id(),
                "creationTimestamp": util.timestamp(), "selfLink": util.link(path),
                "region": util.link("projects/%s/regions/%s" % (project, region)),
                "name": name, "description": str(body.get("description") or ""),
                "status": "READY", "snapshotSchedulePolicy": schedule}
            policies[name] = policy
            self.store.touch()
            return self._region_op(req, project, region, "insert", policy["selfLink"],
                                   policy["id"])

    def patch_resource_policy(self, req, project, region, name):
        """What ``gcloud compute resource-policies update snapshot-schedule`` may change:
        description, schedule, retention policy, snapshot labels. The storage location (and
        the name, the region, the kind) cannot change: recreate the policy."""
        body = req.body or {}
        with self.store.lock:
            proj = self.project(project)
            self.region(region)
            policy = self._policy(proj, region, name)
            if body.get("name", name) != name:
                raise invalid("resource.name", body["name"], "The name cannot be changed.")
            given = body.get("snapshotSchedulePolicy") or {}
            current = policy["snapshotSchedulePolicy"]
            merged = {"schedule": given.get("schedule") or current["schedule"],
                      "retentionPolicy": dict(current["retentionPolicy"],
                                              **(given.get("retentionPolicy") or {})),
                      "snapshotProperties": dict(current.get("snapshotProperties") or {})}
            props = given.get("snapshotProperties") or {}
            if "storageLocations" in props and \
                    (props["storageLocations"] or []) != \
                    merged["snapshotProperties"].get("storageLocations", []):
                raise invalid("resource.snapshotSchedulePolicy.snapshotProperties."
                              "storageLocations", props["storageLocations"],
                              "The storage location of a snapshot schedule cannot be changed.")
            if "labels" in props:
                merged["snapshotProperties"]["labels"] = props["labels"]
            schedule = snapshot_schedule_policy(merged)
            policy["snapshotSchedulePolicy"] = schedule
            if "description" in body:
                policy["description"] = str(body.get("description") or "")
            self.store.touch()
            return self._region_op(req, project, region, "patch", policy["selfLink"],
                                   policy["id"])

    def delete_resource_policy(self, req, project, region, name):
        with self.store.lock:
            proj = self.project(project)
            self.region(region)
            policy = self._policy(proj, region, name)
            users = self.policy_users(proj, policy["selfLink"])
            if users:
                raise ApiError(400, "resourceInUseByAnotherResource",
                               "The resource_policy resource '%s' is already being used by "
                               "'%s'" % (policy_path(project, region, name),
                                         users[0].split("/compute/v1/", 1)[1]))
            del self._policies(proj, region)[name]
            self.store.touch()
            return self._region_op(req, project, region, "delete", policy["selfLink"],
                                   policy["id"])

    # -- disks.addResourcePolicies / removeResourcePolicies -----------------------------------
    def _policy_links(self, proj, zone, body):
        """The policies named in a disks.add/removeResourcePolicies body, as full links;
        each must exist, in the disk's region."""
        given = body.get("resourcePolicies")
        if not isinstance(given, list) or not given:
            raise required("resourcePolicies")
        region = catalog.ZONES[zone]
        links = []
        for index, ref in enumerate(given):
            name = util.last_segment(ref, "resourcePolicies")
            where = util.segment(ref, "regions") or region
            if not name:
                raise invalid("resourcePolicies[%d]" % index, ref, "Invalid resource policy.")
            if where != region:
                raise invalid("resourcePolicies[%d]" % index, ref,
                              "Resource policy must be in the same region as the disk (%s)."
                              % region)
            links.append(self._policy(proj, region, name)["selfLink"])
        return links

    def add_disk_resource_policies(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            record, view = self._disk_record(proj, zone, name)
            links = self._policy_links(proj, zone, req.body or {})
            attached = list(record.get("resourcePolicies") or [])
            new = [link for link in links if link not in attached]
            if len(attached + new) > 1:
                raise invalid("resourcePolicies", new[-1].split("/compute/v1/", 1)[1],
                              "A disk can have at most one snapshot schedule resource policy; "
                              "'%s' would have %s." % (name, ", ".join(
                                  link.rsplit("/", 1)[1] for link in attached + new)))
            record["resourcePolicies"] = attached + new
            self.store.touch()
        return self._policy_disk_op(req, proj, zone, view, "addResourcePolicies")

    def remove_disk_resource_policies(self, req, project, zone, name):
        with self.store.lock:
            proj = self.project(project)
            self.zone(zone)
            record, view = self._disk_record(proj, zone, name)
            links = self._policy_links(proj, zone, req.body or {})
            attached = list(record.get("resourcePolicies") or [])
            for link in links:
                if link not in attached:
                    raise invalid("resourcePolicies", link.split("/compute/v1/", 1)[1],
                                  "The resource policy is not attached to disk '%s'." % name)
            record["resourcePolicies"] = [link for link in attached if link not in links]
            self.store.touch()
        return self._policy_disk_op(req, proj, zone, view, "removeResourcePolicies")

    def _policy_disk_op(self, req, proj, zone, view, op_type):
        latency = self.latency
        op = new_operation(proj["projectId"], "zones/" + zone, op_type, view["selfLink"],
                           view["id"], req.user, zone=zone)
        return 200, self.runner.launch(proj["projectId"], "zones/" + zone, op,
                                       lambda j: j.sleep(latency), self.sync)
