#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_instance
short_description: Create, update, start, stop, restart or delete a Compute Engine VM
version_added: 0.1.0
description:
  - Manages one Google Compute Engine instance, identified by O(name) and O(zone).
  - An instance that already matches costs a single GET and no write.
  - Labels, metadata, network tags and deletion protection are updated in place with their
    fingerprints; a stale fingerprint (HTTP 412) is re-read and the update retried once.
  - Keys this task does not set are kept, the way C(purge_tags) works in amazon.aws, unless asked
    otherwise (O(purge_labels), O(purge_metadata), O(purge_tags)). Google's own labels (C(goog-*)), the
    C(ssh-keys) lines that C(gcloud compute ssh) or another operator added, and metadata written by
    other tools survive a re-run, which then reports no change.
  - Changing the machine type or the service account needs a stopped instance. With
    O(allow_stopping_for_update=true) a running instance is stopped, changed and started again as one
    change; without it the task fails before any write and says why.
  - The boot image, boot disk size and type, network, subnetwork and external IP are set when the
    instance is created; later differences are reported as warnings and not changed.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  name:
    description:
      - Name of the instance (RFC 1035, 1-63 characters).
    type: str
    required: true
  zone:
    description:
      - Zone of the instance, for example V(us-central1-a).
    type: str
    required: true
  state:
    description:
      - V(present) creates the instance when missing (it then runs) and leaves the power state of an
        existing instance alone.
      - V(started) and V(stopped) also make sure the instance is running or stopped (C(TERMINATED)).
      - V(restarted) stops and starts the instance (or starts it when stopped); it always reports a change.
      - V(absent) deletes the instance.
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  machine_type:
    description:
      - Machine type name, for example V(e2-small) or V(e2-medium).
      - When creating and not set, V(e2-small) is used. When not set for an existing instance the
        machine type is left as it is.
    type: str
  image:
    description:
      - Boot image as a partial or full URL, for example V(projects/debian-cloud/global/images/family/debian-12).
      - Used only when the instance is created; the image (or family) is looked up before the create
        request, so a missing image fails the task before any write.
    type: str
    default: projects/debian-cloud/global/images/family/debian-12
  boot_disk_size_gb:
    description:
      - Size of the boot disk in GB when the instance is created (default 20).
    type: int
  boot_disk_type:
    description:
      - Type of the boot disk when the instance is created, for example V(pd-balanced) (the default) or V(pd-ssd).
    type: str
  labels:
    description:
      - Labels the instance carries (added or updated). Labels it carries that are not listed stay,
        unless O(purge_labels=true).
      - Keys and values must follow Google's rules (lowercase letters, digits, C(_) and C(-), at most 63
        characters, keys start with a letter); the task fails before any write otherwise.
    type: dict
  purge_labels:
    description:
      - Remove labels not listed in O(labels) (Google's C(goog-*) labels included). Needs O(labels).
    type: bool
    default: false
  tags:
    description:
      - Network tags (used by firewall rules) the instance carries. Tags not listed stay unless O(purge_tags=true).
    type: list
    elements: str
  purge_tags:
    description:
      - Remove network tags not listed in O(tags). Needs O(tags).
    type: bool
    default: false
  metadata:
    description:
      - Metadata key/value pairs the instance carries (added or updated). Keys not listed stay
        unless O(purge_metadata=true).
      - For SSH access use O(ssh_keys), which adds lines to C(ssh-keys) instead of replacing them.
      - Values are masked in results and diffs (they may hold secrets, a startup script for example),
        except plain settings such as C(enable-oslogin), C(enable-guest-attributes) and C(ssh-keys),
        and the keys listed in O(show_metadata).
    type: dict
  purge_metadata:
    description:
      - Remove metadata keys not listed in O(metadata) (and not C(ssh-keys) when O(ssh_keys) is set).
        Needs O(metadata) or O(ssh_keys).
    type: bool
    default: false
  show_metadata:
    description:
      - Metadata keys whose values may be shown in results and diffs as they are.
    type: list
    elements: str
    default: []
  ssh_keys:
    description:
      - Lines of the C(ssh-keys) metadata entry that must be present, each C(USER:KEYTYPE KEY [COMMENT]).
      - Lines already there stay (another operator's key, the key C(gcloud compute ssh) added) unless
        O(purge_ssh_keys=true); a key already present for the same user is not added again, whatever its comment.
      - Mutually exclusive with an C(ssh-keys) entry in O(metadata).
    type: list
    elements: str
  purge_ssh_keys:
    description:
      - Remove C(ssh-keys) lines not listed in O(ssh_keys). Needs O(ssh_keys).
    type: bool
    default: false
  service_account:
    description:
      - The service account the VM runs as. When not set at creation the VM runs without one.
      - Changing it on an existing instance needs it stopped (see O(allow_stopping_for_update)).
    type: dict
    suboptions:
      email:
        description:
          - Email of the service account, or V(default) for the project's default compute service account.
        type: str
        required: true
      scopes:
        description:
          - OAuth2 scopes granted to the VM.
        type: list
        elements: str
        default: ['https://www.googleapis.com/auth/cloud-platform']
  shielded_vm:
    description:
      - Shielded VM settings (needs an image that supports them, as Google's Debian images do).
      - Settings not given are left as they are (Google's defaults at creation are secure boot off,
        vTPM and integrity monitoring on).
      - Changing them on an existing instance needs it stopped (see O(allow_stopping_for_update)).
    type: dict
    suboptions:
      secure_boot:
        description: Boot only software signed with trusted keys.
        type: bool
      vtpm:
        description: A virtual Trusted Platform Module (measured boot, sealed secrets).
        type: bool
      integrity_monitoring:
        description: Compare each boot with the known good baseline (needs O(shielded_vm.vtpm)).
        type: bool
  network:
    description:
      - Network name or link when creating (default V(default)).
    type: str
  subnetwork:
    description:
      - Subnetwork name or link when creating; a bare name is looked up in the zone's region.
    type: str
  external_ip:
    description:
      - Give the instance an ephemeral external IPv4 address when creating (default V(true)).
    type: bool
  deletion_protection:
    description:
      - Protect the instance from deletion. When not set, left as it is.
      - With O(state=absent), V(false) lifts an existing protection before deleting; without it a
        protected instance makes the task fail before any write.
    type: bool
  attached_disks:
    description:
      - Persistent disks (made with M(openclaw.gcp.compute_disk)) attached to the instance besides its boot disk.
      - Attached in the insert request when the instance is created (a missing disk fails the task before any
        write), with C(attachDisk) on an existing instance, running or not.
      - Only the disks listed here are touched; disks attached otherwise stay. An item with V(state=absent) is
        detached (C(detachDisk)).
      - A different O(attached_disks[].auto_delete) is updated in place; a different device name or mode is
        only warned about, since changing it means detaching a disk that may be mounted.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the disk, in the instance's zone.
        type: str
        required: true
      device_name:
        description:
          - Device name the guest sees, as C(/dev/disk/by-id/google-DEVICE_NAME). Defaults to the disk name.
        type: str
      mode:
        description: Attach read-write or read-only.
        type: str
        choices: [READ_WRITE, READ_ONLY]
        default: READ_WRITE
      auto_delete:
        description: Delete the disk with the instance. Keep V(false) for a disk that holds state.
        type: bool
        default: false
      state:
        description: V(present) attaches the disk, V(absent) detaches it (the disk itself stays).
        type: str
        choices: [present, absent]
        default: present
  allow_stopping_for_update:
    description:
      - Allow stopping a running instance to change its machine type or service account, then starting it again.
    type: bool
    default: false
  wait:
    description:
      - Wait for the last operation to finish. Intermediate steps (stop before a resize) are always waited for.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each operation before failing.
    type: int
    default: 300
notes:
  - Operations are waited for with the Compute Engine C(wait) method, bounded by O(timeout).
seealso:
  - module: openclaw.gcp.compute_instance_info
  - module: openclaw.gcp.compute_firewall
'''

EXAMPLES = r'''
- name: Create the gateway VM (Debian 12, e2-small, 20 GB)
  openclaw.gcp.compute_instance:
    project: my-openclaw-project
    name: openclaw-gateway
    zone: us-central1-a
    machine_type: e2-small
    boot_disk_size_gb: 20
    labels:
      app: openclaw
      role: gateway
    tags: [openclaw-ssh]
    ssh_keys:
      - "openclaw:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample openclaw@laptop"
    metadata:
      enable-guest-attributes: "TRUE"
    service_account_file: ~/.config/gcloud/openclaw-automation.json

- name: Grow the VM to e2-medium after an out-of-memory kill (stops and starts it)
  openclaw.gcp.compute_instance:
    project: my-openclaw-project
    name: openclaw-gateway
    zone: us-central1-a
    machine_type: e2-medium
    allow_stopping_for_update: true

- name: Attach the gateway's state disk (made with openclaw.gcp.compute_disk)
  openclaw.gcp.compute_instance:
    name: openclaw-gateway
    zone: us-central1-a
    attached_disks:
      - name: openclaw-gateway-state
        device_name: openclaw-state

- name: Stop the VM
  openclaw.gcp.compute_instance:
    name: openclaw-gateway
    zone: us-central1-a
    state: stopped

- name: Delete the VM, lifting deletion protection first
  openclaw.gcp.compute_instance:
    name: openclaw-gateway
    zone: us-central1-a
    state: absent
    deletion_protection: false
'''

RETURN = r'''
instance:
  description:
    - The instance after the task (predicted in check mode; empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Instance name.
      type: str
      sample: openclaw-gateway
    id:
      description: Numeric id as a string (unknown in check mode before creation).
      type: str
      sample: "4567890123456789012"
    zone:
      description: Zone name.
      type: str
      sample: us-central1-a
    status:
      description: C(RUNNING), C(TERMINATED), C(STOPPING), ...
      type: str
      sample: RUNNING
    machine_type:
      description: Short name of the machine type.
      type: str
      sample: e2-small
    internal_ip:
      description: Internal IPv4 address of the first network interface.
      type: str
      sample: 10.128.0.2
    external_ip:
      description: External IPv4 address of the first network interface, if any.
      type: str
      sample: 203.0.113.10
    labels:
      description: Labels.
      type: dict
      sample: {"app": "openclaw"}
    tags:
      description: Network tags, sorted.
      type: list
      elements: str
      sample: ["openclaw-ssh"]
    metadata:
      description:
        - Metadata key/value pairs. Values are masked (C(VALUE_HIDDEN ...)) except plain settings and
          the keys in O(show_metadata).
      type: dict
    region:
      description: Region of the zone.
      type: str
      sample: us-central1
    creation_timestamp:
      description: When the instance was created (RFC 3339).
      type: str
    deletion_protection:
      description: Whether deletion protection is on.
      type: bool
    service_account:
      description: Email and scopes of the VM's service account, or null.
      type: dict
    shielded_vm:
      description: Shielded VM settings (C(secure_boot), C(vtpm), C(integrity_monitoring)).
      type: dict
      sample: {"secure_boot": true, "vtpm": true, "integrity_monitoring": true}
    attached_disks:
      description: The disks attached besides the boot disk (C(name), C(device_name), C(mode), C(auto_delete)), by device name.
      type: list
      elements: dict
      sample: [{"name": "openclaw-gateway-state", "device_name": "openclaw-state", "mode": "READ_WRITE", "auto_delete": false}]
    network:
      description: Short name of the first interface's network.
      type: str
      sample: default
    subnetwork:
      description: Short name of the first interface's subnetwork, if any.
      type: str
    self_link:
      description: Google's link to the instance.
      type: str
      sample: https://www.googleapis.com/compute/v1/projects/my-openclaw-project/zones/us-central1-a/instances/openclaw-gateway
actions:
  description: The changes made (or that would be made in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["stop", "set machine type e2-medium", "start"]
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    GcpError,
    GcpModule,
    compute_link,
    dict_to_metadata_items,
    normalize_link,
    short_name,
    stringify_labels,
    validate_labels,
    validate_name,
    zone_to_region,
    ZONE_RE,
)
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import (
    MACHINE_TYPE_RE,
    ComputeResource,
    apply_disk_step,
    attached_disk_body,
    disk_step_label,
    masked_metadata,
    merge_ssh_keys,
    public_view,
    plan_disk_attachments,
    shielded_body,
    ssh_key_identity,
    summarize,
    wanted_attached_disks,
)

DEFAULT_MACHINE_TYPE = 'e2-small'
DEFAULT_DISK_SIZE_GB = 20
DEFAULT_DISK_TYPE = 'pd-balanced'
CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform'
# What Google gives a VM whose insert names no Shielded VM settings.
GOOGLE_SHIELDED_DEFAULTS = {'secure_boot': False, 'vtpm': True, 'integrity_monitoring': True}

RUNNING_STATES = ('RUNNING', 'PROVISIONING', 'STAGING')
STOPPED_STATES = ('TERMINATED', 'STOPPED')
STABLE_STATES = ('RUNNING', 'TERMINATED', 'STOPPED', 'SUSPENDED')
# where a transition in progress ends up
SETTLES_TO = {'PROVISIONING': 'RUNNING', 'STAGING': 'RUNNING', 'REPAIRING': 'RUNNING',
              'STOPPING': 'TERMINATED', 'SUSPENDING': 'SUSPENDED'}


# ------------------------------------------------------------------------------------------
# Pure functions
# ------------------------------------------------------------------------------------------

def desired_service_account(value):
    if value is None:
        return None
    return {'email': value['email'], 'scopes': sorted(set(value.get('scopes') or [CLOUD_PLATFORM]))}


def service_account_matches(current, desired):
    if desired is None:
        return True
    if current is None:
        return False
    if sorted(current.get('scopes') or []) != desired['scopes']:
        return False
    if desired['email'] == 'default':
        return (current.get('email') or '').endswith('-compute@developer.gserviceaccount.com')
    return (current.get('email') or '').lower() == desired['email'].lower()


def normalize_params(params):
    """Typed, normalised desired values from module params (``None`` = not managed)."""
    metadata = params.get('metadata')
    if metadata is not None:
        metadata = dict((str(k), '' if v is None else (v if isinstance(v, str) else str(v))) for k, v in metadata.items())
    tags = params.get('tags')
    if tags is not None:
        tags = sorted(set(tags))
    return {
        'machine_type': params.get('machine_type'),
        'labels': stringify_labels(params.get('labels')),
        'tags': tags,
        'metadata': metadata,
        'deletion_protection': params.get('deletion_protection'),
        'service_account': desired_service_account(params.get('service_account')),
        'shielded_vm': dict((k, v) for k, v in (params.get('shielded_vm') or {}).items() if v is not None) or None,
    }


def effective(desired, summary, params):
    """What the instance should carry, given what it carries now (``summary``, empty when creating).

    Keys the task does not set are kept unless purged: labels, network tags, metadata keys and
    ``ssh-keys`` lines.
    """
    out = dict(desired)
    if desired['labels'] is not None and not params.get('purge_labels'):
        out['labels'] = dict(summary.get('labels') or {}, **desired['labels'])
    if desired['tags'] is not None and not params.get('purge_tags'):
        out['tags'] = sorted(set(summary.get('tags') or []) | set(desired['tags']))
    ssh_keys = params.get('ssh_keys')
    if desired['metadata'] is not None or ssh_keys is not None:
        current = summary.get('metadata') or {}
        merged = {} if params.get('purge_metadata') else dict(current)
        merged.update(desired['metadata'] or {})
        if ssh_keys is not None:
            merged['ssh-keys'] = merge_ssh_keys(current.get('ssh-keys'), ssh_keys, params.get('purge_ssh_keys'))
            if not merged['ssh-keys']:
                del merged['ssh-keys']
        out['metadata'] = merged
    return out


def wanted(params):
    """The desired values for a new instance."""
    return effective(normalize_params(params), {}, params)


def validate_params(params):
    """Error sentences for inputs Google would reject, checked before any request."""
    errors = []
    problem = validate_name(params.get('name'), 'Instance name')
    if problem:
        errors.append(problem)
    zone = params.get('zone')
    if not zone or not ZONE_RE.match(zone):
        errors.append('Zone %r is not a zone name such as us-central1-a' % (zone,))
    machine_type = params.get('machine_type')
    if machine_type is not None and not MACHINE_TYPE_RE.match(machine_type):
        errors.append('Machine type %r is not a machine type name such as e2-small' % (machine_type,))
    errors.extend(validate_labels(stringify_labels(params.get('labels'))))
    for tag in params.get('tags') or []:
        problem = validate_name(tag, 'Network tag')
        if problem:
            errors.append(problem)
    size = params.get('boot_disk_size_gb')
    if size is not None and (size < 10 or size > 65536):
        errors.append('boot_disk_size_gb must be between 10 and 65536, got %s' % size)
    if params.get('timeout') is not None and params['timeout'] <= 0:
        errors.append('timeout must be a positive number of seconds')
    state = params.get('state')
    if state == 'absent' and params.get('deletion_protection'):
        errors.append('state=absent conflicts with deletion_protection=true: a protected instance cannot be deleted')
    metadata = params.get('metadata') or {}
    for key in metadata:
        if not re.match(r'^[a-zA-Z0-9_-]{1,128}$', str(key)):
            errors.append('Metadata key %r is invalid: use 1-128 letters, digits, underscores or hyphens' % (key,))
    shielded = params.get('shielded_vm') or {}
    if shielded.get('integrity_monitoring') and shielded.get('vtpm') is False:
        errors.append('shielded_vm integrity_monitoring needs vtpm: Google measures the boot with the vTPM')
    ssh_keys = params.get('ssh_keys')
    if ssh_keys is not None and 'ssh-keys' in metadata:
        errors.append('ssh_keys and an ssh-keys entry in metadata are mutually exclusive: give the lines in ssh_keys')
    for line in ssh_keys or []:
        if ssh_key_identity(line) is None or '\n' in line:
            errors.append('ssh_keys line %r is not USER:KEYTYPE KEY [COMMENT]' % (line,))
    seen = {}
    for item in wanted_attached_disks(params.get('attached_disks')):
        for key, what in (('name', 'Disk name'), ('device_name', 'Device name')):
            problem = validate_name(item[key], 'attached_disks %s' % what)
            if problem:
                errors.append(problem)
            elif seen.setdefault((key, item[key]), item['name']) != item['name']:
                errors.append('attached_disks names %s %s twice' % (key.replace('_', ' '), item[key]))
    for purge, needs in (('purge_labels', ('labels',)), ('purge_tags', ('tags',)),
                         ('purge_metadata', ('metadata', 'ssh_keys')), ('purge_ssh_keys', ('ssh_keys',))):
        if params.get(purge) and all(params.get(n) is None for n in needs):
            errors.append('%s needs %s: without it there is nothing to keep' % (purge, ' or '.join(needs)))
    return errors


def plan_updates(summary, desired):
    """Changes needed on an existing instance: ``(in_place, needs_stop)``, each an ordered dict-like list."""
    in_place = []
    needs_stop = []
    if desired['labels'] is not None and desired['labels'] != summary['labels']:
        in_place.append(('labels', desired['labels']))
    if desired['metadata'] is not None and desired['metadata'] != summary['metadata']:
        in_place.append(('metadata', desired['metadata']))
    if desired['tags'] is not None and desired['tags'] != summary['tags']:
        in_place.append(('tags', desired['tags']))
    if desired['deletion_protection'] is not None and desired['deletion_protection'] != summary['deletion_protection']:
        in_place.append(('deletion_protection', desired['deletion_protection']))
    if desired['machine_type'] is not None and desired['machine_type'] != summary['machine_type']:
        needs_stop.append(('machine_type', desired['machine_type']))
    if not service_account_matches(summary['service_account'], desired['service_account']):
        needs_stop.append(('service_account', desired['service_account']))
    wanted_shielded = desired.get('shielded_vm')
    if wanted_shielded and any((summary.get('shielded_vm') or {}).get(k) != v for k, v in wanted_shielded.items()):
        needs_stop.append(('shielded_vm', dict(summary.get('shielded_vm') or {}, **wanted_shielded)))
    return in_place, needs_stop


def creation_only_warnings(summary, params):
    """Warnings for creation-only options that differ on an existing instance."""
    warnings = []
    name = summary['name']
    if params.get('network') and short_name(params['network']) != summary['network']:
        warnings.append('Instance %s is on network %s; network=%s only applies when creating.' % (name, summary['network'], params['network']))
    if params.get('subnetwork') and short_name(params['subnetwork']) != summary['subnetwork']:
        warnings.append('Instance %s is on subnetwork %s; subnetwork=%s only applies when creating.' % (
            name, summary['subnetwork'], params['subnetwork']))
    if params.get('external_ip') is not None and params['external_ip'] != summary['has_external_ip']:
        warnings.append('Instance %s %s an external IP; external_ip=%s only applies when creating.' % (
            name, 'has' if summary['has_external_ip'] else 'has no', params['external_ip']))
    size = params.get('boot_disk_size_gb')
    if size is not None and summary['boot_disk_size_gb'] is not None and size != summary['boot_disk_size_gb']:
        warnings.append('Instance %s has a %s GB boot disk; boot_disk_size_gb=%s only applies when creating.' % (
            name, summary['boot_disk_size_gb'], size))
    return warnings


def build_insert_body(params, project):
    """The instances.insert request body."""
    zone = params['zone']
    desired = wanted(params)
    machine_type = desired['machine_type'] or DEFAULT_MACHINE_TYPE
    disk_type = params.get('boot_disk_type') or DEFAULT_DISK_TYPE
    nic = {'network': compute_link(project, params.get('network') or 'default', 'networks')}
    if params.get('subnetwork'):
        nic['subnetwork'] = compute_link(project, params['subnetwork'], 'subnetworks', 'regions/%s' % zone_to_region(zone))
    if params.get('external_ip') is not False:
        nic['accessConfigs'] = [{'type': 'ONE_TO_ONE_NAT', 'name': 'External NAT'}]
    body = {
        'name': params['name'],
        'machineType': 'zones/%s/machineTypes/%s' % (zone, machine_type),
        'disks': [{
            'boot': True,
            'autoDelete': True,
            'type': 'PERSISTENT',
            'initializeParams': {
                'sourceImage': normalize_link(params.get('image')) if '://' in (params.get('image') or '') else params.get('image'),
                'diskSizeGb': str(params.get('boot_disk_size_gb') or DEFAULT_DISK_SIZE_GB),
                'diskType': 'zones/%s/diskTypes/%s' % (zone, short_name(disk_type)),
            },
        }],
        'networkInterfaces': [nic],
        'labels': desired['labels'] or {},
        'deletionProtection': bool(desired['deletion_protection']),
    }
    for item in wanted_attached_disks(params.get('attached_disks')):
        if item['state'] == 'present':
            body['disks'].append(attached_disk_body(project, zone, item))
    if desired['tags']:
        body['tags'] = {'items': desired['tags']}
    if desired['metadata']:
        body['metadata'] = {'items': dict_to_metadata_items(desired['metadata'])}
    if desired['service_account']:
        body['serviceAccounts'] = [dict(desired['service_account'])]
    if desired['shielded_vm']:
        body['shieldedInstanceConfig'] = shielded_body(desired['shielded_vm'])
    return body


def predict_created(params):
    """The summary a create would produce (check mode)."""
    desired = wanted(params)
    return {
        'name': params['name'],
        'id': None,
        'zone': params['zone'],
        'status': 'TERMINATED' if params['state'] == 'stopped' else 'RUNNING',
        'machine_type': desired['machine_type'] or DEFAULT_MACHINE_TYPE,
        'internal_ip': None,
        'external_ip': None,
        'labels': desired['labels'] or {},
        'tags': desired['tags'] or [],
        'metadata': desired['metadata'] or {},
        'deletion_protection': bool(desired['deletion_protection']),
        'service_account': desired['service_account'],
        'network': short_name(params.get('network') or 'default'),
        'subnetwork': short_name(params.get('subnetwork')),
        'has_external_ip': params.get('external_ip') is not False,
        'boot_disk_size_gb': params.get('boot_disk_size_gb') or DEFAULT_DISK_SIZE_GB,
        'self_link': None,
        'shielded_vm': dict(GOOGLE_SHIELDED_DEFAULTS, **(desired['shielded_vm'] or {})),
        'attached_disks': sorted(
            (dict((k, d[k]) for k in ('name', 'device_name', 'mode', 'auto_delete'))
             for d in wanted_attached_disks(params.get('attached_disks')) if d['state'] == 'present'),
            key=lambda d: d['device_name']),
    }


def diff_view(summary, shown_metadata=()):
    if not summary:
        return {'state': 'absent'}
    keys = ('status', 'machine_type', 'labels', 'tags', 'metadata', 'deletion_protection', 'service_account', 'shielded_vm',
            'attached_disks')
    view = dict((k, summary.get(k)) for k in keys)
    view['metadata'] = masked_metadata(view['metadata'], shown_metadata)
    view['state'] = 'present'
    return view


def plan_power(state, status, needs_stop):
    """Power actions for an existing instance whose (settled) status is ``status``.

    With ``needs_stop`` (a machine type or service account change) the instance is stopped first
    and started again afterwards unless it was not running or ``state`` is ``stopped``.
    """
    is_running = status == 'RUNNING'
    is_stopped = status in STOPPED_STATES
    if needs_stop:
        plan = [] if is_stopped else ['stop']
        if state in ('started', 'restarted') or (state == 'present' and is_running):
            plan.append('start')
        return plan
    if state == 'started':
        if is_running:
            return []
        return ['resume'] if status == 'SUSPENDED' else ['start']
    if state == 'stopped':
        return [] if is_stopped else ['stop']
    if state == 'restarted':
        return ['start'] if is_stopped else ['stop', 'start']
    return []


def shielded_label(value):
    return 'set shielded VM %s' % ', '.join('%s=%s' % (k, str(v).lower()) for k, v in sorted(value.items()))


def plan_steps(in_place, needs_stop, power):
    """The ordered steps ``(label, kind, value)``: in-place updates, then stop, stop-needing changes, start."""
    steps = []
    for key, value in in_place:
        if key == 'deletion_protection':
            label = 'set deletion protection to %s' % str(value).lower()
        else:
            label = {'labels': 'set labels', 'metadata': 'set metadata', 'tags': 'set network tags'}[key]
        steps.append((label, key, value))
    if needs_stop:
        if power[:1] == ['stop']:
            steps.append(('stop', 'stop', None))
        for key, value in needs_stop:
            if key == 'machine_type':
                steps.append(('set machine type %s' % value, key, value))
            elif key == 'shielded_vm':
                steps.append((shielded_label(value), key, value))
            else:
                steps.append(('set service account %s' % value['email'], key, value))
        if power[-1:] == ['start']:
            steps.append(('start', 'start', None))
    else:
        for step in power:
            steps.append((step, step, None))
    return steps


# ------------------------------------------------------------------------------------------
# Talking to the API
# ------------------------------------------------------------------------------------------

class InstanceManager(object):

    def __init__(self, module):
        self.module = module
        self.client = module.client
        self.params = module.params
        self.project = self.client.project
        self.zone = self.params['zone']
        self.name = self.params['name']
        self.path = 'projects/%s/zones/%s/instances/%s' % (self.project, self.zone, self.name)
        self.resource = 'instance %s in zone %s (project %s)' % (self.name, self.zone, self.project)
        self.timeout = float(self.params['timeout'])
        self.actions = []
        self.instance = ComputeResource(module, self.path, self.resource, 'instance', summarize, self.timeout)
        self.read = self.instance.read

    def check_zone(self):
        try:
            self.client.get('compute', 'projects/%s/zones/%s' % (self.project, self.zone), 'read', 'zone %s' % self.zone, allow_404=False)
        except GcpError as exc:
            if exc.status != 404:
                raise
            # Google says which part is missing: the zone or the project itself
            raise GcpError('Zone %s of project %s was not found (%s): no write was made.' % (
                self.zone, self.project, (exc.google_message or 'not found').rstrip('.'))) from None

    def check_machine_type(self, machine_type):
        found = self.client.get('compute', 'projects/%s/zones/%s/machineTypes/%s' % (self.project, self.zone, machine_type),
                                'read', 'machine type %s in zone %s' % (machine_type, self.zone))
        if found is None:
            raise GcpError('Machine type %s does not exist in zone %s (project %s): no write was made.' % (
                machine_type, self.zone, self.project))

    def check_image(self, image):
        """Make sure the boot image (or image family) exists before creating; odd forms are left to Google."""
        link = normalize_link(image or '')
        if link.startswith('global/'):
            link = 'projects/%s/%s' % (self.project, link)
        if not re.match(r'^projects/[^/]+/global/images/(family/)?[^/]+$', link):
            return
        found = self.client.get('compute', link, 'read', 'image %s' % image)
        if found is None:
            raise GcpError('Image %s does not exist or is not visible to project %s: no write was made.' % (image, self.project))

    def check_disks(self, items):
        """Make sure each disk to attach exists in the instance's zone, before any write."""
        for item in items:
            found = self.client.get('compute', 'projects/%s/zones/%s/disks/%s' % (self.project, self.zone, item['name']),
                                    'read', 'disk %s in zone %s' % (item['name'], self.zone))
            if found is None:
                raise GcpError('Disk %s does not exist in zone %s (project %s), so it cannot be attached to %s: '
                               'create it first with openclaw.gcp.compute_disk (no write was made).' % (
                                   item['name'], self.zone, self.project, self.name))

    def wait_for_status(self, statuses):
        """Poll the instance until its status is one of ``statuses`` (bounded by the timeout)."""
        return self.client.poll(
            self.read, lambda cur: cur is not None and cur.get('status') in statuses, self.timeout,
            lambda cur: 'waiting for %s to become %s (it is %s)' % (
                self.resource, ' or '.join(statuses), (cur or {}).get('status') or 'gone'))

    # -- writes ----------------------------------------------------------------------------------

    def mutate(self, verb, action, done, body=None, params=None, wait=True, method='POST', path=None, rebuild=None):
        """One compute mutation (``ComputeResource``: read before a retry, ``done(view)`` when in effect)."""
        op = self.instance.send(method, path or (self.path + ('/' + verb if verb else '')), action,
                                self.instance.reconciler(done, rebuild, action), body=body, params=params, wait=wait)
        self.actions.append(action)
        return op

    def set_fingerprinted(self, verb, action, kind, build, instance, value, wait):
        """A write guarded by a fingerprint: on a retry, done when the instance carries what is wanted
        *now* (keys others added since included), else a fresh body with the new fingerprint."""
        self.mutate(verb, action, lambda view: bool(view) and view[kind] == self.want(view)[kind], body=build(instance, value),
                    wait=wait, rebuild=lambda current: build(current, self.want(summarize(current))[kind]))

    def want(self, view):
        return effective(normalize_params(self.params), view, self.params)

    def create(self, wait):
        body = build_insert_body(self.params, self.project)
        op = self.mutate(None, 'create', bool, body=body, wait=wait,
                         path='projects/%s/zones/%s/instances' % (self.project, self.zone))
        if op is None and wait:
            self.wait_for_status(RUNNING_STATES[:1])

    def delete(self, wait):
        return self.mutate(None, 'delete', lambda view: not view, wait=wait, method='DELETE')

    def start(self, wait=True, verb='start'):
        op = self.mutate(verb, verb, lambda view: view.get('status') in RUNNING_STATES, wait=wait)
        if op is None and wait:
            self.wait_for_status(('RUNNING',))

    def stop(self, wait=True):
        op = self.mutate('stop', 'stop', lambda view: view.get('status') in STOPPED_STATES + ('STOPPING',), wait=wait)
        if wait:
            # the operation is done when the guest is off; make sure the status says so too
            self.wait_for_status(STOPPED_STATES)
        return op

    def set_labels(self, instance, labels, wait):
        def build(cur, value):
            return {'labels': value, 'labelFingerprint': cur.get('labelFingerprint')}
        self.set_fingerprinted('setLabels', 'set labels', 'labels', build, instance, labels, wait)

    def set_metadata(self, instance, metadata, wait):
        def build(cur, value):
            return {'items': dict_to_metadata_items(value), 'fingerprint': (cur.get('metadata') or {}).get('fingerprint')}
        self.set_fingerprinted('setMetadata', 'set metadata', 'metadata', build, instance, metadata, wait)

    def set_tags(self, instance, tags, wait):
        def build(cur, value):
            return {'items': value, 'fingerprint': (cur.get('tags') or {}).get('fingerprint')}
        self.set_fingerprinted('setTags', 'set network tags', 'tags', build, instance, tags, wait)

    def set_deletion_protection(self, value, wait):
        self.mutate('setDeletionProtection', 'set deletion protection to %s' % str(value).lower(),
                    lambda view: bool(view) and view['deletion_protection'] == value,
                    params={'deletionProtection': 'true' if value else 'false'}, wait=wait)

    def set_machine_type(self, machine_type, wait):
        self.mutate('setMachineType', 'set machine type %s' % machine_type,
                    lambda view: bool(view) and view['machine_type'] == machine_type,
                    body={'machineType': 'zones/%s/machineTypes/%s' % (self.zone, machine_type)}, wait=wait)

    def set_shielded_vm(self, shielded, wait):
        self.mutate('updateShieldedInstanceConfig', shielded_label(shielded),
                    lambda view: bool(view) and view['shielded_vm'] == shielded,
                    body=shielded_body(shielded), method='PATCH', wait=wait)

    def change_disk(self, kind, item, wait):
        """Attach or detach a disk, or set its auto-delete flag (``plan_disk_attachments`` steps)."""
        def attachment(view):
            return dict((d['name'], d) for d in view.get('attached_disks') or []).get(item['name'])
        if kind == 'attach':
            self.mutate('attachDisk', disk_step_label(kind, item), lambda view: attachment(view) is not None,
                        body=attached_disk_body(self.project, self.zone, item), wait=wait)
        elif kind == 'detach':
            self.mutate('detachDisk', disk_step_label(kind, item), lambda view: attachment(view) is None,
                        params={'deviceName': item['device_name']}, wait=wait)
        else:
            self.mutate('setDiskAutoDelete', disk_step_label(kind, item),
                        lambda view: (attachment(view) or {}).get('auto_delete') == item['auto_delete'],
                        params={'deviceName': item['device_name'], 'autoDelete': 'true' if item['auto_delete'] else 'false'},
                        wait=wait)

    def set_service_account(self, service_account, wait):
        self.mutate('setServiceAccount', 'set service account %s' % service_account['email'],
                    lambda view: bool(view) and service_account_matches(view['service_account'], service_account),
                    body={'email': service_account['email'], 'scopes': service_account['scopes']}, wait=wait)

    # -- the state machine ---------------------------------------------------------------------------

    def run(self):
        params = self.params
        check = self.module.check_mode
        wait = params['wait']
        state = params['state']
        instance = self.read()
        before = summarize(instance)
        desired = wanted(params)

        if state == 'absent':
            return self.ensure_absent(instance, before, check, wait)

        if instance is None:
            self.check_zone()
            self.check_machine_type(desired['machine_type'] or DEFAULT_MACHINE_TYPE)
            self.check_image(params['image'])
            self.check_disks([d for d in wanted_attached_disks(params['attached_disks']) if d['state'] == 'present'])
            after = predict_created(params)
            if check:
                self.actions = ['create'] + (['stop'] if state == 'stopped' else [])
                return self.result(True, before, after)
            self.create(wait or state == 'stopped')
            if state == 'stopped':
                self.stop(wait)
            return self.result(True, before, self.final(after, wait))

        for warning in creation_only_warnings(before, params):
            self.module.warn(warning)

        if before['status'] not in STABLE_STATES and wait and not check:
            # a transition is in progress (e.g. STOPPING): let it settle, without writing
            instance = self.wait_for_status(STABLE_STATES)
            before = summarize(instance)
        desired = self.want(before)
        status = SETTLES_TO.get(before['status'], before['status'])

        in_place, needs_stop = plan_updates(before, desired)
        if needs_stop and status not in STOPPED_STATES and not params['allow_stopping_for_update']:
            what = ' and '.join('%s to %s' % (k.replace('_', ' '), (v['email'] if k == 'service_account' else v)) for k, v in needs_stop)
            raise GcpError('Cannot change %s of %s while it is %s: set allow_stopping_for_update: true to stop it, '
                           'change it and start it again (no change was made).' % (what, self.resource, before['status']))
        for key, value in needs_stop:
            if key == 'machine_type':
                self.check_machine_type(value)

        disk_steps, disk_warnings = plan_disk_attachments(before['attached_disks'], wanted_attached_disks(params['attached_disks']))
        for warning in disk_warnings:
            self.module.warn('Instance %s: %s.' % (self.name, warning))
        self.check_disks([item for kind, item in disk_steps if kind == 'attach'])

        power = plan_power(state, status, bool(needs_stop))
        steps = [(disk_step_label(kind, item), 'disk ' + kind, item) for kind, item in disk_steps]
        steps += plan_steps(in_place, needs_stop, power)
        if not steps:
            return self.result(False, before, before)
        after = dict(before)
        for key, value in in_place + needs_stop:
            after[key] = value
        for kind, item in disk_steps:
            after['attached_disks'] = apply_disk_step(after['attached_disks'], kind, item)
        if power:
            after['status'] = 'TERMINATED' if power[-1] == 'stop' else 'RUNNING'
        if check:
            self.actions = [step[0] for step in steps]
            return self.result(True, before, after)

        for index, (dummy_label, kind, value) in enumerate(steps):
            step_wait = wait or index < len(steps) - 1
            if kind == 'labels':
                self.set_labels(instance, value, step_wait)
            elif kind == 'metadata':
                self.set_metadata(instance, value, step_wait)
            elif kind == 'tags':
                self.set_tags(instance, value, step_wait)
            elif kind == 'deletion_protection':
                self.set_deletion_protection(value, step_wait)
            elif kind == 'machine_type':
                self.set_machine_type(value, step_wait)
            elif kind == 'service_account':
                self.set_service_account(value, step_wait)
            elif kind == 'shielded_vm':
                self.set_shielded_vm(value, step_wait)
            elif kind == 'stop':
                self.stop(step_wait)
            elif kind == 'start':
                self.start(step_wait)
            elif kind == 'resume':
                self.start(step_wait, verb='resume')
            elif kind.startswith('disk '):
                self.change_disk(kind[5:], value, step_wait)
        return self.result(True, before, self.final(after, wait))

    def ensure_absent(self, instance, before, check, wait):
        if instance is None:
            return self.result(False, before, {})
        protected = bool(instance.get('deletionProtection'))
        if protected and self.params['deletion_protection'] is not False:
            raise GcpError('Cannot delete %s: deletion protection is on; set deletion_protection: false to lift it '
                           'and delete the instance (no change was made).' % self.resource)
        if check:
            self.actions = (['set deletion protection to false'] if protected else []) + ['delete']
            return self.result(True, before, {})
        if protected:
            self.set_deletion_protection(False, True)
        self.delete(wait)
        return self.result(True, before, {})

    def final(self, predicted, wait):
        """The instance after the changes: read again when we waited, else the prediction."""
        if not wait:
            return predicted
        current = self.read()
        return summarize(current) if current else predicted

    def result(self, changed, before, after):
        out = {
            'changed': changed,
            'instance': public_view(after, self.params['show_metadata']) if after else {},
            'actions': list(self.actions),
        }
        if self.module._diff:  # pylint: disable=protected-access
            shown = self.params['show_metadata']
            out['diff'] = {'before': diff_view(before, shown), 'after': diff_view(after, shown)}
        return out


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        zone=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent', 'started', 'stopped', 'restarted']),
        machine_type=dict(type='str'),
        image=dict(type='str', default='projects/debian-cloud/global/images/family/debian-12'),
        boot_disk_size_gb=dict(type='int'),
        boot_disk_type=dict(type='str'),
        labels=dict(type='dict'),
        purge_labels=dict(type='bool', default=False),
        tags=dict(type='list', elements='str'),
        purge_tags=dict(type='bool', default=False),
        metadata=dict(type='dict'),
        purge_metadata=dict(type='bool', default=False),
        show_metadata=dict(type='list', elements='str', default=[]),
        ssh_keys=dict(type='list', elements='str', no_log=False),
        purge_ssh_keys=dict(type='bool', default=False),
        service_account=dict(type='dict', options=dict(
            email=dict(type='str', required=True),
            scopes=dict(type='list', elements='str', default=[CLOUD_PLATFORM]),
        )),
        shielded_vm=dict(type='dict', options=dict(
            secure_boot=dict(type='bool'),
            vtpm=dict(type='bool'),
            integrity_monitoring=dict(type='bool'),
        )),
        network=dict(type='str'),
        subnetwork=dict(type='str'),
        external_ip=dict(type='bool'),
        deletion_protection=dict(type='bool'),
        attached_disks=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            device_name=dict(type='str'),
            mode=dict(type='str', default='READ_WRITE', choices=['READ_WRITE', 'READ_ONLY']),
            auto_delete=dict(type='bool', default=False),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        )),
        allow_stopping_for_update=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    errors = validate_params(module.params)
    if errors:
        module.fail_json(msg='Invalid options for instance %s: %s (no request was sent).' % (
            module.params['name'], '; '.join(errors)), errors=errors)
    try:
        result = InstanceManager(module).run()
    except GcpError as exc:
        module.fail_gcp(exc)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
