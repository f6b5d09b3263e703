"""Static Compute Engine catalogue: regions, zones, machine types, public images."""

import re
import zlib

from .util import link

REGIONS = {
    "us-central1": ["a", "b", "c", "f"],
    "us-east1": ["b", "c", "d"],
    "us-east4": ["a", "b", "c"],
    "us-west1": ["a", "b", "c"],
    "us-west2": ["a", "b", "c"],
    "us-west4": ["a", "b", "c"],
    "northamerica-northeast1": ["a", "b", "c"],
    "europe-west1": ["b", "c", "d"],
    "europe-west2": ["a", "b", "c"],
    "europe-west3": ["a", "b", "c"],
    "europe-west4": ["a", "b", "c"],
    "europe-north1": ["a", "b", "c"],
    "europe-southwest1": ["a", "b", "c"],
    "asia-east1": ["a", "b", "c"],
    "asia-northeast1": ["a", "b", "c"],
    "asia-southeast1": ["a", "b", "c"],
    "australia-southeast1": ["a", "b", "c"],
    "southamerica-east1": ["a", "b", "c"],
}
ZONES = {"%s-%s" % (region, letter): region
         for region, letters in REGIONS.items() for letter in letters}
ZONE_ORDER = sorted(ZONES)

# The primary range of each region's subnet in an auto mode VPC network (the ``default``
# network): Google's fixed table, all inside 10.128.0.0/9.
AUTO_SUBNETS = {
    "us-central1": "10.128.0.0/20",
    "europe-west1": "10.132.0.0/20",
    "us-west1": "10.138.0.0/20",
    "asia-east1": "10.140.0.0/20",
    "us-east1": "10.142.0.0/20",
    "asia-northeast1": "10.146.0.0/20",
    "asia-southeast1": "10.148.0.0/20",
    "us-east4": "10.150.0.0/20",
    "australia-southeast1": "10.152.0.0/20",
    "europe-west2": "10.154.0.0/20",
    "europe-west3": "10.156.0.0/20",
    "southamerica-east1": "10.158.0.0/20",
    "northamerica-northeast1": "10.162.0.0/20",
    "europe-west4": "10.164.0.0/20",
    "europe-north1": "10.166.0.0/20",
    "us-west2": "10.168.0.0/20",
    "us-west4": "10.182.0.0/20",
    "europe-southwest1": "10.204.0.0/20",
}

# Regional vCPU quota used for the asynchronous QUOTA_EXCEEDED error of one instance.
CPU_QUOTA = 24

GIB = 1024

# name -> (guestCpus, memoryMb, shared core)
_FIXED = {
    "e2-micro": (2, 1 * GIB, True),
    "e2-small": (2, 2 * GIB, True),
    "e2-medium": (2, 4 * GIB, True),
    "f1-micro": (1, 614, True),
    "g1-small": (1, 1740, True),
}


def _families():
    table = dict(_FIXED)
    for cpus in (2, 4, 8, 16, 32):
        table["e2-standard-%d" % cpus] = (cpus, cpus * 4 * GIB, False)
        table["e2-highmem-%d" % cpus] = (cpus, cpus * 8 * GIB, False) if cpus <= 16 else None
        table["e2-highcpu-%d" % cpus] = (cpus, cpus * GIB, False)
    for cpus in (1, 2, 4, 8, 16, 32, 64, 96):
        table["n1-standard-%d" % cpus] = (cpus, int(cpus * 3.75 * GIB), False)
    for cpus in (2, 4, 8, 16, 32, 48, 64, 80, 96, 128):
        table["n2-standard-%d" % cpus] = (cpus, cpus * 4 * GIB, False)
        table["n2-highmem-%d" % cpus] = (cpus, cpus * 8 * GIB, False)
        table["n2-highcpu-%d" % cpus] = (cpus, cpus * GIB, False)
    for cpus in (2, 4, 8, 16, 32, 48, 64, 80):
        table["n2d-standard-%d" % cpus] = (cpus, cpus * 4 * GIB, False)
    for cpus in (4, 8, 22, 44, 88, 176):
        table["c3-standard-%d" % cpus] = (cpus, cpus * 4 * GIB, False)
    return {name: spec for name, spec in table.items() if spec}


MACHINE_TYPES = _families()
_CUSTOM = re.compile(r"^(?:(e2|n1|n2|n2d)-)?custom-(\d+)-(\d+)(-ext)?$")


def machine_spec(name):
    """(guestCpus, memoryMb, shared) for a predefined or custom machine type, or None."""
    if name in MACHINE_TYPES:
        return MACHINE_TYPES[name]
    match = _CUSTOM.match(name or "")
    if not match:
        return None
    cpus, memory = int(match.group(2)), int(match.group(3))
    if cpus < 1 or memory < 256 or memory % 256 or (cpus > 1 and cpus % 2):
        return None
    if not match.group(4) and memory > cpus * 8 * GIB:
        return None
    return (cpus, memory, False)


def machine_type_resource(project, zone, name):
    cpus, memory, shared = machine_spec(name)
    path = "projects/%s/zones/%s/machineTypes/%s" % (project, zone, name)
    body = {
        "kind": "compute#machineType",
        "id": str(zlib.crc32(name.encode()) + 800000000000),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": name,
        "description": "%d vCPU%s, %s GB RAM" % (
            cpus, "s" if cpus > 1 else "", ("%.2f" % (memory / 1024)).rstrip("0").rstrip(".")),
        "guestCpus": cpus,
        "memoryMb": memory,
        "imageSpaceGb": 0,
        "maximumPersistentDisks": 16 if shared else 128,
        "maximumPersistentDisksSizeGb": "3072" if shared else "263168",
        "zone": zone,
        "selfLink": link(path),
        "isSharedCpu": shared,
        "architecture": "X86_64",
    }
    if name.startswith("e2-") and shared:
        body["bundledLocalSsds"] = {"defaultInterface": "SCSI", "partitionCount": 0}
    return body


def zone_resource(project, zone):
    region = ZONES[zone]
    return {
        "kind": "compute#zone",
        "id": str(2000 + ZONE_ORDER.index(zone)),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": zone,
        "description": zone,
        "status": "UP",
        "region": link("projects/%s/regions/%s" % (project, region)),
        "selfLink": link("projects/%s/zones/%s" % (project, zone)),
        "availableCpuPlatforms": ["Intel Broadwell", "Intel Cascade Lake", "AMD Milan",
                                  "Intel Ice Lake", "AMD Rome", "Intel Skylake"],
        "supportsPzs": False,
    }


def region_resource(project, region):
    return {
        "kind": "compute#region",
        "id": str(1000 + sorted(REGIONS).index(region)),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": region,
        "description": region,
        "status": "UP",
        "zones": [link("projects/%s/zones/%s-%s" % (project, region, letter))
                  for letter in REGIONS[region]],
        "quotas": [{"metric": "CPUS", "limit": float(CPU_QUOTA), "usage": 0.0},
                   {"metric": "IN_USE_ADDRESSES", "limit": 8.0, "usage": 0.0}],
        "selfLink": link("projects/%s/regions/%s" % (project, region)),
        "supportsPzs": False,
    }


# Public image projects: project -> list of images (newest last within a family).
_DEBIAN_LICENSE = "projects/debian-cloud/global/licenses/debian-%d-%s"
IMAGES = {
    "debian-cloud": [
        ("debian-12-bookworm-v20260914", "debian-12", 12, "bookworm", "DEPRECATED"),
        ("debian-12-bookworm-v20261111", "debian-12", 12, "bookworm", None),
        ("debian-13-trixie-v20261111", "debian-13", 13, "trixie", None),
    ],
}
IMAGE_DISK_GB = 10


def image_id(name):
    return str(zlib.crc32(name.encode()) + 700000000000)


def image_resource(project, entry):
    name, family, version, codename, deprecated = entry
    body = {
        "kind": "compute#image",
        "id": image_id(name),
        "creationTimestamp": "2026-11-11T00:00:00.000-08:00",
        "name": name,
        "description": "Debian, Debian GNU/Linux, %d (%s), amd64 built on %s" % (
            version, codename, name.rsplit("-v", 1)[1]),
        "sourceType": "RAW",
        "rawDisk": {"source": "", "containerType": "TAR"},
        "status": "READY",
        "archiveSizeBytes": "1352567360",
        "diskSizeGb": str(IMAGE_DISK_GB),
        "licenses": [link(_DEBIAN_LICENSE % (version, codename))],
        "family": family,
        "selfLink": link("projects/%s/global/images/%s" % (project, name)),
        "labelFingerprint": "42WmSpB8rSM=",
        "guestOsFeatures": [{"type": "UEFI_COMPATIBLE"}, {"type": "VIRTIO_SCSI_MULTIQUEUE"},
                            {"type": "GVNIC"}, {"type": "SEV_CAPABLE"}],
        "storageLocations": ["eu", "us", "asia"],
        "architecture": "X86_64",
        "enableConfidentialCompute": False,
    }
    if deprecated:
        body["deprecated"] = {"state": deprecated, "replacement": link(
            "projects/%s/global/images/%s" % (project, _latest(project, family)[0]))}
    return body


def _latest(project, family):
    current = [e for e in IMAGES.get(project, []) if e[1] == family and not e[4]]
    return current[-1] if current else None


def find_image(project, name=None, family=None):
    """The catalogue entry for an image name or the newest image of a family, or None."""
    if family:
        return _latest(project, family)
    for entry in IMAGES.get(project, []):
        if entry[0] == name:
            return entry
    return None
