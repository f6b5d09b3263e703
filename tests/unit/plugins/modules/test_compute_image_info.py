# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_image_info: which links are images, and the view of an image resource."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.openclaw.gcp.plugins.modules import compute_image_info as image_info


def test_image_path_accepts_families_images_and_urls():
    assert image_info.image_path('projects/debian-cloud/global/images/family/debian-12', 'p') == (
        'projects/debian-cloud/global/images/family/debian-12')
    assert image_info.image_path('https://compute.googleapis.com/compute/v1/projects/x/global/images/img-1', 'p') == (
        'projects/x/global/images/img-1')
    assert image_info.image_path('global/images/family/mine', 'own-project') == (
        'projects/own-project/global/images/family/mine')
    for bad in ('debian 12', '', 'projects/x/zones/z/disks/d', 'projects/x/global/images/family/a/b'):
        assert image_info.image_path(bad, 'p') is None, bad


def test_image_view():
    view = image_info.image_view({
        'name': 'img-2', 'family': 'fam', 'status': 'READY', 'diskSizeGb': '10',
        'selfLink': 'https://compute.googleapis.com/compute/v1/projects/x/global/images/img-2',
        'guestOsFeatures': [{'type': 'GVNIC'}], 'deprecated': {'state': 'OBSOLETE'}})
    assert view['self_link'] == 'projects/x/global/images/img-2' and view['project'] == 'x'
    assert view['disk_size_gb'] == 10 and view['shielded_vm'] is False and view['deprecated'] == 'OBSOLETE'
    assert image_info.image_view({'name': 'y'})['deprecated'] == 'ACTIVE'
