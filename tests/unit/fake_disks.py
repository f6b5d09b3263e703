# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Standalone zonal disks for the unit tests' fake Google (mixed into ``FakeGoogle``).

Answers like Compute Engine: ``disks`` insert (blank or from ``sourceSnapshot``)/get/delete/resize/
setLabels/add- and removeResourcePolicies, ``snapshots.get``, and the instance side (``attachDisk``, ``detachDisk``,
``setDiskAutoDelete``, disks attached at insert, released or auto-deleted with the instance).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json

GOOGLE = 'https://www.googleapis.com/compute/v1/'


def _error(status, reason, message):
    return status, {'error': {'code': status, 'message': message, 'status': reason.upper(),
                              'errors': [{'reason': reason, 'message': message, 'domain': 'global'}]}}


def _short(link):
    return (link or '').rstrip('/').rsplit('/', 1)[-1]


class FakeDisks(object):
    """State: ``self.disks[(zone, name)]`` and ``self.resource_policies`` (``(region, name)`` pairs)."""

    def init_disks(self):
        self.disks = {}
        self.resource_policies = {('us-central1', 'daily'), ('us-central1', 'weekly')}
        self.disk_snapshots = {}

    def add_snapshot(self, name, disk_size_gb=10, status='READY'):
        snapshot = {'kind': 'compute#snapshot', 'id': str(next(self._ids)), 'name': name, 'status': status,
                    'diskSizeGb': str(disk_size_gb), 'selfLink': GOOGLE + 'projects/%s/global/snapshots/%s' % (self.project, name)}
        self.disk_snapshots[name] = snapshot
        return snapshot

    def snapshot_get(self, name):
        if name not in self.disk_snapshots:
            return _error(404, 'notFound', "The resource 'projects/%s/global/snapshots/%s' was not found" % (self.project, name))
        return 200, copy.deepcopy(self.disk_snapshots[name])

    def add_disk(self, name='state', zone='us-central1-a', size_gb=10, disk_type='pd-balanced', **extra):
        disk = {
            'kind': 'compute#disk', 'id': str(next(self._ids)), 'name': name, 'sizeGb': str(size_gb), 'status': 'READY',
            'zone': GOOGLE + 'projects/%s/zones/%s' % (self.project, zone),
            'type': GOOGLE + 'projects/%s/zones/%s/diskTypes/%s' % (self.project, zone, disk_type),
            'selfLink': GOOGLE + 'projects/%s/zones/%s/disks/%s' % (self.project, zone, name),
            'labels': {}, 'labelFingerprint': self.fingerprint({}), 'creationTimestamp': '2026-12-04T10:00:00.000-08:00',
        }
        disk.update(extra)
        disk['labelFingerprint'] = self.fingerprint(disk['labels'])
        self.disks[(zone, name)] = disk
        return disk

    @staticmethod
    def fingerprint(value):
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]

    def disk_route(self, method, zone, rest, params, body):  # pylint: disable=too-many-return-statements,unused-argument
        """``rest``: the path after ``zones/<zone>/disks``."""
        if not rest:
            return self.insert_disk(zone, body)
        name = rest[0]
        target = 'projects/%s/zones/%s/disks/%s' % (self.project, zone, name)
        disk = self.disks.get((zone, name))
        if disk is None:
            return _error(404, 'notFound', "The resource '%s' was not found" % target)
        if len(rest) == 1:
            if method == 'GET':
                return 200, copy.deepcopy(disk)
            if disk.get('users'):
                return _error(400, 'resourceInUseByAnotherResource', "The disk resource '%s' is already being used by '%s'"
                              % (target, disk['users'][0]))
            del self.disks[(zone, name)]
            return 200, self.operation('delete', target, zone)
        verb = rest[1]
        if verb == 'resize':
            if int(body['sizeGb']) < int(disk['sizeGb']):
                return _error(400, 'invalid', 'Invalid value for field sizeGb: %s. Disk size cannot be decreased.' % body['sizeGb'])
            disk['sizeGb'] = str(body['sizeGb'])
        elif verb == 'setLabels':
            if body.get('labelFingerprint') != disk['labelFingerprint']:
                return _error(412, 'conditionNotMet', 'Labels fingerprint either invalid or resource labels have changed')
            disk['labels'] = body['labels']
            disk['labelFingerprint'] = self.fingerprint(body['labels'])
        elif verb in ('addResourcePolicies', 'removeResourcePolicies'):
            region = zone[:-2]
            links = disk.setdefault('resourcePolicies', [])
            for link in body['resourcePolicies']:
                if (region, _short(link)) not in self.resource_policies:
                    return _error(404, 'notFound', "The resource '%s' was not found" % link)
                full = GOOGLE + 'projects/%s/regions/%s/resourcePolicies/%s' % (self.project, region, _short(link))
                if verb == 'addResourcePolicies' and full not in links:
                    links.append(full)
                elif verb == 'removeResourcePolicies' and full in links:
                    links.remove(full)
        else:
            return _error(400, 'badRequest', 'unknown verb %s' % verb)
        return 200, self.operation(verb, target, zone)

    def insert_disk(self, zone, body):
        target = 'projects/%s/zones/%s/disks/%s' % (self.project, zone, body['name'])
        if (zone, body['name']) in self.disks:
            return _error(409, 'alreadyExists', "The resource '%s' already exists" % target)
        policies = [GOOGLE + 'projects/%s/regions/%s/resourcePolicies/%s' % (self.project, zone[:-2], _short(p))
                    for p in body.get('resourcePolicies') or []]
        extra = {'labels': body.get('labels') or {}, 'resourcePolicies': policies}
        size = body.get('sizeGb')
        if body.get('sourceSnapshot'):
            snapshot = self.disk_snapshots.get(_short(body['sourceSnapshot']))
            if snapshot is None or snapshot['status'] != 'READY':
                return _error(404 if snapshot is None else 400, 'notFound' if snapshot is None else 'invalid', 'bad snapshot')
            if size is not None and int(size) < int(snapshot['diskSizeGb']):
                return _error(400, 'invalid', 'Requested disk size cannot be smaller than the snapshot size')
            size = size or snapshot['diskSizeGb']
            extra.update(sourceSnapshot=snapshot['selfLink'], sourceSnapshotId=snapshot['id'])
        if body.get('description'):
            extra['description'] = body['description']
        self.add_disk(body['name'], zone, int(size), _short(body['type']), **extra)
        return 200, self.operation('insert', target, zone)

    # -- the instance side ---------------------------------------------------------------------------

    def attach(self, inst, zone, attached):
        """Attach ``attached`` (an AttachedDisk) to ``inst``; an error tuple or ``None``."""
        name = _short(attached['source'])
        disk = self.disks.get((zone, name))
        if disk is None:
            return _error(404, 'notFound', "The resource 'projects/%s/zones/%s/disks/%s' was not found" % (self.project, zone, name))
        if disk.get('users') and attached.get('mode', 'READ_WRITE') == 'READ_WRITE':
            return _error(400, 'resourceInUseByAnotherResource', "The disk resource '%s' is already being used by '%s'"
                          % (disk['selfLink'], disk['users'][0]))
        device = attached.get('deviceName') or name
        if any(d.get('deviceName') == device for d in inst['disks']):
            return _error(400, 'invalid', 'Device name %s is already in use' % device)
        inst['disks'].append({'source': disk['selfLink'], 'deviceName': device, 'mode': attached.get('mode', 'READ_WRITE'),
                              'autoDelete': bool(attached.get('autoDelete')), 'boot': False, 'type': 'PERSISTENT'})
        disk.setdefault('users', []).append(inst['selfLink'])
        return None

    def release_disks(self, inst, zone):
        """The instance is deleted: its disks lose a user; auto-delete ones go."""
        for attached in inst['disks']:
            key = (zone, _short(attached.get('source')))
            disk = self.disks.get(key)
            if disk is None:
                continue
            disk['users'] = [u for u in disk.get('users') or [] if u != inst['selfLink']]
            if attached.get('autoDelete'):
                del self.disks[key]

    def disk_action(self, inst, verb, zone, params, body):  # pylint: disable=too-many-return-statements
        """An instance verb about disks; an error tuple, or ``None`` when applied."""
        if verb == 'attachDisk':
            return self.attach(inst, zone, body)
        found = [d for d in inst['disks'] if d.get('deviceName') == params.get('deviceName') and not d.get('boot')]
        if not found:
            return _error(400, 'invalid', 'No attached disk found with device name %s' % params.get('deviceName'))
        if verb == 'detachDisk':
            inst['disks'].remove(found[0])
            disk = self.disks.get((zone, _short(found[0]['source'])))
            if disk is not None:
                disk['users'] = [u for u in disk.get('users') or [] if u != inst['selfLink']]
            return None
        if verb == 'setDiskAutoDelete':
            found[0]['autoDelete'] = params.get('autoDelete') == 'true'
            return None
        return _error(400, 'badRequest', 'unknown verb %s' % verb)
