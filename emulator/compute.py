"""Compute Engine v1: the handler object the server routes to, assembled from one module per
resource family (as Google splits its API surface):

| module | resources |
|---|---|
| ``common`` | pagination, list bodies, aggregated lists, label/metadata/tag validation, lookups |
| ``projects_compute`` | project (``get``, ``setCommonInstanceMetadata``) |
| ``locations`` | zones, regions, machine types |
| ``images`` | images, image families, zonal family views |
| ``networks`` | networks, subnetworks |
| ``firewalls`` | firewalls |
| ``routers`` | Cloud Routers and their Cloud NAT gateways |
| ``instances`` | instances |
| ``disks``, ``attached_disks`` | disks (own and boot views), attach/detach |
| ``snapshots`` | snapshots, ``disks.createSnapshot``, scheduled snapshots |
| ``resource_policies`` | resource policies (snapshot schedules), ``disks.add/removeResourcePolicies`` |
| ``operations`` | zonal and global operations, ``requestId`` replay |
"""

from .common import ComputeBase, paginate, list_body, validate_labels  # noqa: F401 (re-exported)
from .disks import DisksMixin
from .firewalls import FirewallsMixin
from .images import ImagesMixin
from .instances import InstancesMixin
from .locations import LocationsMixin
from .networks import NetworksMixin
from .operations import OperationsMixin
from .projects_compute import ProjectsMixin
from .resource_policies import ResourcePoliciesMixin
from .routers import RoutersMixin
from .snapshots import SnapshotsMixin

__all__ = ["Compute", "list_body", "paginate", "validate_labels"]


class Compute(ProjectsMixin, LocationsMixin, ImagesMixin, NetworksMixin, FirewallsMixin,
              RoutersMixin, InstancesMixin, SnapshotsMixin, ResourcePoliciesMixin, DisksMixin,
              OperationsMixin, ComputeBase):
    """Handlers for ``/compute/v1/...``; each returns ``(status, body)``."""
