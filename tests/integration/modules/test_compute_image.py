# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_image_info against the emulator: a family resolves to its newest image with one GET,
a pinned deprecated image is reported (and refused on request), bad input makes no call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FAMILY = 'projects/debian-cloud/global/images/family/debian-12'


def test_family_resolves_once_to_the_newest_image(emulator, runner):
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'family', 'openclaw.gcp.compute_image_info': {'image': FAMILY}},
        {'name': 'full url', 'openclaw.gcp.compute_image_info': {
            'image': 'https://compute.googleapis.com/compute/v1/projects/debian-cloud/global/images/family/debian-13'}},
        {'name': 'old', 'openclaw.gcp.compute_image_info': {
            'image': 'projects/debian-cloud/global/images/debian-12-bookworm-v20260914'}},
        {'name': 'old refused', 'ignore_errors': True, 'openclaw.gcp.compute_image_info': {
            'image': 'projects/debian-cloud/global/images/debian-12-bookworm-v20260914', 'fail_on_deprecated': True}},
    ]))
    image = results['family']['image']
    assert results['family']['changed'] is False and results['family']['resolved_from'] == FAMILY
    assert image['name'] == 'debian-12-bookworm-v20261111' and image['family'] == 'debian-12'
    assert image['self_link'] == 'projects/debian-cloud/global/images/debian-12-bookworm-v20261111'
    assert image['project'] == 'debian-cloud' and image['deprecated'] == 'ACTIVE' and image['status'] == 'READY'
    assert image['shielded_vm'] is True and image['disk_size_gb'] == 10 and image['architecture'] == 'X86_64'
    assert results['full url']['image']['name'] == 'debian-13-trixie-v20261111'
    assert results['old']['image']['deprecated'] == 'DEPRECATED'
    assert results['old refused']['failed'] is True
    assert 'debian-12-bookworm-v20260914 is DEPRECATED' in results['old refused']['msg']
    reads = [e for e in emulator.requests()[start:] if '/global/images/' in e['path']]
    assert len(reads) == 4 and all(e['method'] == 'GET' for e in reads)


def test_missing_and_malformed_images(emulator, runner):
    start = len(emulator.requests())
    results = dict(runner.play([
        {'name': 'missing', 'ignore_errors': True, 'openclaw.gcp.compute_image_info': {
            'image': 'projects/debian-cloud/global/images/family/debian-99'}},
        {'name': 'malformed', 'ignore_errors': True, 'openclaw.gcp.compute_image_info': {'image': 'debian 12'}},
    ]))
    assert results['missing']['failed'] is True
    assert results['missing']['msg'].startswith('Image projects/debian-cloud/global/images/family/debian-99 does not exist')
    assert results['malformed']['failed'] is True
    assert "image 'debian 12' is not an image or image family link" in results['malformed']['msg']
    paths = [e['path'] for e in emulator.requests()[start:] if '/global/images/' in e['path']]
    assert len(paths) == 1 and paths[0].endswith('/projects/debian-cloud/global/images/family/debian-99')
