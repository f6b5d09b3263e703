#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_image_info
short_description: Resolve a Compute Engine image or image family to one concrete image
version_added: 0.1.0
description:
  - Reads one Compute Engine image with one GET; never writes.
  - Given an image family, returns the image the family points to B(now). Resolve the family once
    per run and create every VM from the returned O(image) link, so that a fleet created in one
    run boots the same image even when Google publishes a new one in the middle of the run.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.read_only
options:
  image:
    description:
      - The image or image family as a partial or full URL, for example
        V(projects/debian-cloud/global/images/family/debian-12) or
        V(projects/debian-cloud/global/images/debian-12-bookworm-v20261110).
      - A link without C(projects/...) (V(global/images/family/F)) is looked up in O(project).
    type: str
    default: projects/debian-cloud/global/images/family/debian-12
  fail_on_deprecated:
    description:
      - Fail when the image is deprecated (C(DEPRECATED), C(OBSOLETE) or C(DELETED)).
      - A family never points to a deprecated image, so this matters for pinned image names.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Resolve Debian 12 once for the whole run
  openclaw.gcp.compute_image_info:
    image: projects/debian-cloud/global/images/family/debian-12
  register: debian

- name: Create each VM from that very image
  openclaw.gcp.compute_instance:
    name: "{{ item }}"
    zone: us-central1-a
    image: "{{ debian.image.self_link }}"
  loop: [gw-a, gw-b]
'''

RETURN = r'''
image:
  description: The image, or the image the family points to now.
  returned: success
  type: dict
  contains:
    name:
      description: Image name.
      type: str
      sample: debian-12-bookworm-v20261110
    project:
      description: The project that owns the image.
      type: str
      sample: debian-cloud
    self_link:
      description: Partial URL of the concrete image, to pass as an instance's boot image.
      type: str
      sample: projects/debian-cloud/global/images/debian-12-bookworm-v20261110
    family:
      description: The image's family, if any.
      type: str
      sample: debian-12
    status:
      description: C(READY), C(PENDING), C(FAILED) ...
      type: str
    deprecated:
      description: Deprecation state (C(ACTIVE) when not deprecated).
      type: str
    disk_size_gb:
      description: Smallest boot disk the image needs, in GB.
      type: int
    architecture:
      description: C(X86_64) or C(ARM64) when Google says.
      type: str
    shielded_vm:
      description: Whether the image supports Shielded VM (guest OS feature C(UEFI_COMPATIBLE)).
      type: bool
    creation_timestamp:
      description: When the image was created (RFC 3339).
      type: str
resolved_from:
  description: The O(image) that was asked for, as a partial URL.
  returned: success
  type: str
  sample: projects/debian-cloud/global/images/family/debian-12
'''

import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import GcpError, GcpModule, normalize_link

IMAGE_LINK_RE = re.compile(r'^projects/(?P<project>[^/]+)/global/images/(?P<family>family/)?(?P<name>[^/]+)$')


def image_path(image, project):
    """The partial URL of ``image`` (family or image), or None when it is not an image link."""
    link = normalize_link(image or '')
    if link.startswith('global/'):
        link = 'projects/%s/%s' % (project, link)
    return link if IMAGE_LINK_RE.match(link) else None


def image_view(image):
    """What the module returns about one image resource."""
    link = normalize_link(image.get('selfLink') or '')
    match = IMAGE_LINK_RE.match(link)
    features = [f.get('type') for f in image.get('guestOsFeatures') or []]
    size = image.get('diskSizeGb')
    return {
        'name': image.get('name'),
        'project': match.group('project') if match else None,
        'self_link': link,
        'family': image.get('family'),
        'status': image.get('status'),
        'deprecated': (image.get('deprecated') or {}).get('state') or 'ACTIVE',
        'disk_size_gb': int(size) if size not in (None, '') else None,
        'architecture': image.get('architecture'),
        'shielded_vm': 'UEFI_COMPATIBLE' in features,
        'creation_timestamp': image.get('creationTimestamp'),
    }


def main():
    argument_spec = dict(
        image=dict(type='str', default='projects/debian-cloud/global/images/family/debian-12'),
        fail_on_deprecated=dict(type='bool', default=False),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    client = module.client
    path = image_path(params['image'], client.project)
    if path is None:
        module.fail_json(msg='Invalid options: image %r is not an image or image family link such as '
                             'projects/debian-cloud/global/images/family/debian-12.' % (params['image'],))
    try:
        found = client.get('compute', path, 'read', 'image %s' % params['image'])
    except GcpError as exc:
        module.fail_gcp(exc)
    if found is None:
        module.fail_json(msg='Image %s does not exist or is not visible to project %s.' % (params['image'], client.project))
    view = image_view(found)
    if params['fail_on_deprecated'] and view['deprecated'] != 'ACTIVE':
        module.fail_json(msg='Image %s is %s.' % (view['self_link'], view['deprecated']), image=view)
    module.exit_json(changed=False, image=view, resolved_from=path)


if __name__ == '__main__':
    main()
