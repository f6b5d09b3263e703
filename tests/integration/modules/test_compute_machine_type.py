# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_machine_type_info against the emulator: one GET per machine type, predefined and
custom types, a type a zone does not offer is refused by name, bad input makes no call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def machine_type_reads(emulator, start):
    return [e for e in emulator.requests()[start:] if '/machineTypes/' in e['path']]


def test_memory_and_cpus_of_predefined_and_custom_types(emulator, runner):
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'small', 'openclaw.gcp.compute_machine_type_info': {'name': 'e2-small', 'zone': 'us-central1-a'}},
        {'name': 'micro', 'openclaw.gcp.compute_machine_type_info': {
            'machine_type': 'zones/europe-west1-b/machineTypes/e2-micro', 'zone': 'europe-west1-b'}},
        {'name': 'custom', 'openclaw.gcp.compute_machine_type_info': {'name': 'e2-custom-2-5120', 'zone': 'us-central1-a'}},
    ]))
    small = results['small']['machine_type']
    assert results['small']['changed'] is False
    assert (small['name'], small['zone'], small['guest_cpus'], small['memory_mb']) == ('e2-small', 'us-central1-a', 2, 2048)
    assert small['is_shared_cpu'] is True and small['deprecated'] == 'ACTIVE'
    assert small['self_link'].endswith('/zones/us-central1-a/machineTypes/e2-small')
    assert results['micro']['machine_type']['memory_mb'] == 1024
    assert results['custom']['machine_type']['memory_mb'] == 5120
    assert results['custom']['machine_type']['is_shared_cpu'] is False
    reads = machine_type_reads(emulator, start)
    assert len(reads) == 3 and all(e['method'] == 'GET' for e in reads)


def test_unknown_types_and_bad_input(emulator, runner):
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'unknown', 'ignore_errors': True, 'openclaw.gcp.compute_machine_type_info': {
            'name': 'e2-colossal', 'zone': 'us-central1-a'}},
        {'name': 'bad', 'ignore_errors': True, 'openclaw.gcp.compute_machine_type_info': {
            'name': 'E2 Small', 'zone': 'us-central1'}},
        {'name': 'other zone', 'ignore_errors': True, 'openclaw.gcp.compute_machine_type_info': {
            'name': 'zones/us-east1-b/machineTypes/e2-small', 'zone': 'us-central1-a'}},
    ]))
    assert results['unknown']['failed'] is True
    assert results['unknown']['msg'].startswith('Machine type e2-colossal is not offered in zone us-central1-a')
    assert results['bad']['failed'] is True
    assert "name 'E2 Small' is not a machine type" in results['bad']['msg']
    assert "zone 'us-central1' is not a zone" in results['bad']['msg']
    assert 'is in zone us-east1-b, not in zone us-central1-a' in results['other zone']['msg']
    reads = machine_type_reads(emulator, start)
    assert len(reads) == 1 and reads[0]['path'].endswith('/zones/us-central1-a/machineTypes/e2-colossal')
