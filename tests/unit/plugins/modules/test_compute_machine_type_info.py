# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_machine_type_info: which names and links are machine types, and the view of one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.openclaw.gcp.plugins.modules import compute_machine_type_info as mt_info


def test_parse_accepts_names_and_links_of_the_same_zone():
    assert mt_info.parse('e2-small', 'us-central1-a') == ('e2-small', [])
    assert mt_info.parse('zones/us-central1-a/machineTypes/e2-custom-2-4096', 'us-central1-a') == ('e2-custom-2-4096', [])
    url = 'https://compute.googleapis.com/compute/v1/projects/p/zones/europe-west1-b/machineTypes/n2-standard-2'
    assert mt_info.parse(url, 'europe-west1-b') == ('n2-standard-2', [])


def test_parse_names_every_problem():
    name, problems = mt_info.parse('projects/p/zones/us-east1-b/machineTypes/e2-small', 'us-central1-a')
    assert name == 'e2-small'
    assert problems == ['machine type projects/p/zones/us-east1-b/machineTypes/e2-small is in zone us-east1-b, '
                        'not in zone us-central1-a']
    problems = mt_info.parse('E2 Small', 'central')[1]
    assert problems == ["name 'E2 Small' is not a machine type such as e2-small",
                        "zone 'central' is not a zone such as us-central1-a"]


def test_machine_type_view():
    view = mt_info.machine_type_view({
        'name': 'e2-micro', 'guestCpus': 2, 'memoryMb': '1024', 'isSharedCpu': True, 'description': 'x',
        'selfLink': 'https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a/machineTypes/e2-micro',
        'deprecated': {'state': 'DEPRECATED'}}, 'us-central1-a')
    assert view == {'name': 'e2-micro', 'zone': 'us-central1-a', 'guest_cpus': 2, 'memory_mb': 1024,
                    'is_shared_cpu': True, 'deprecated': 'DEPRECATED', 'description': 'x',
                    'self_link': 'projects/p/zones/us-central1-a/machineTypes/e2-micro'}
    bare = mt_info.machine_type_view({'name': 'n1-standard-1'}, 'z')
    assert bare['memory_mb'] is None and bare['is_shared_cpu'] is False and bare['deprecated'] == 'ACTIVE'
