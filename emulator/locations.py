"""Zones, regions and machine types (the static catalogue in ``catalog``, served)."""

from . import catalog
from .common import list_body, paginate
from .errors import not_found


class LocationsMixin:
    """``zones``, ``regions``, ``machineTypes``."""

    def list_zones(self, req, project):
        with self.store.lock:
            self.project(project)
        items = [catalog.zone_resource(project, z) for z in catalog.ZONE_ORDER]
        page, token = paginate(items, req.query, lambda z: [z["name"]])
        return 200, list_body("compute#zoneList", "projects/%s/zones" % project, page, token)

    def get_zone(self, req, project, zone):
        with self.store.lock:
            self.project(project)
        if zone not in catalog.ZONES:
            raise not_found("projects/%s/zones/%s" % (project, zone))
        return 200, catalog.zone_resource(project, zone)

    def list_regions(self, req, project):
        with self.store.lock:
            self.project(project)
        items = [catalog.region_resource(project, r) for r in sorted(catalog.REGIONS)]
        page, token = paginate(items, req.query, lambda r: [r["name"]])
        return 200, list_body("compute#regionList", "projects/%s/regions" % project, page, token)

    def get_region(self, req, project, region):
        with self.store.lock:
            self.project(project)
        if region not in catalog.REGIONS:
            raise not_found("projects/%s/regions/%s" % (project, region))
        return 200, catalog.region_resource(project, region)

    def list_machine_types(self, req, project, zone):
        with self.store.lock:
            self.project(project)
        self.zone(zone)
        items = [catalog.machine_type_resource(project, zone, n) for n in catalog.MACHINE_TYPES]
        page, token = paginate(items, req.query, lambda m: [m["name"]])
        return 200, list_body("compute#machineTypeList",
                              "projects/%s/zones/%s/machineTypes" % (project, zone), page, token)

    def aggregated_machine_types(self, req, project):
        with self.store.lock:
            self.project(project)
        rows = [catalog.machine_type_resource(project, z, n)
                for z in catalog.ZONE_ORDER for n in catalog.MACHINE_TYPES]
        page, token = paginate(rows, req.query, lambda m: [m["zone"], m["name"]])
        return 200, self._aggregate("compute#machineTypeAggregatedList", "machineTypes",
                                    "projects/%s/aggregated/machineTypes" % project, page, token,
                                    lambda m: m["zone"])

    def get_machine_type(self, req, project, zone, name):
        with self.store.lock:
            self.project(project)
        self.zone(zone)
        if catalog.machine_spec(name) is None:
            raise not_found("projects/%s/zones/%s/machineTypes/%s" % (project, zone, name))
        return 200, catalog.machine_type_resource(project, zone, name)
