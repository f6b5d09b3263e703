"""Public images: list, get, families, zonal family views; sourceImage resolution."""

from . import catalog, util
from .common import list_body, paginate
from .errors import invalid, not_found


class ImagesMixin:
    """``images`` and ``imageFamilyViews``."""

    def _image_project(self, project):
        if project in catalog.IMAGES:
            return
        with self.store.lock:
            self.project(project)

    def list_images(self, req, project):
        self._image_project(project)
        items = [catalog.image_resource(project, e) for e in catalog.IMAGES.get(project, [])]
        page, token = paginate(items, req.query, lambda i: [i["name"]])
        return 200, list_body("compute#imageList", "projects/%s/global/images" % project, page,
                              token)

    def get_image(self, req, project, name):
        self._image_project(project)
        entry = catalog.find_image(project, name=name)
        if entry is None:
            raise not_found("projects/%s/global/images/%s" % (project, name))
        return 200, catalog.image_resource(project, entry)

    def get_image_family(self, req, project, family):
        self._image_project(project)
        entry = catalog.find_image(project, family=family)
        if entry is None:
            raise not_found("projects/%s/global/images/family/%s" % (project, family))
        return 200, catalog.image_resource(project, entry)

    def get_image_family_view(self, req, project, zone, family):
        self._image_project(project)
        if zone != "-":
            self.zone(zone)
        entry = catalog.find_image(project, family=family)
        if entry is None:
            raise not_found("projects/%s/zones/%s/imageFamilyViews/%s" % (project, zone, family))
        return 200, {"image": catalog.image_resource(project, entry)}

    def resolve_image(self, ref, own_project, field):
        """(image project, catalogue entry) for a sourceImage reference."""
        text = ref if isinstance(ref, str) else ""
        project = util.segment(text, "projects") or own_project
        family = util.segment(text, "family") or util.segment(text, "imageFamilyViews")
        name = None if family else util.last_segment(text, "images")
        entry = catalog.find_image(project, name=name, family=family)
        if entry is None:
            raise invalid(field, ref, "The referenced image resource cannot be found.")
        return project, entry
