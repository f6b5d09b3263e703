# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's image pinning, on the controller only (connection local, nothing built).

tasks_from validate + image_tag (what update.yml runs before it changes anything) and the
rendered Dockerfile: a digest pins the prebuilt image (FROM repo@sha256:...) or the npm build's
Node base, and gives another image tag than the bare tag; a malformed digest, or a digest meant
for the other source, is refused with a message that names the setting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from local_play import ROOT, run_play
DIGEST = 'sha256:' + 'ab12' * 16

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: openclaw.gcp.gateway
        tasks_from: validate
    - ansible.builtin.include_role:
        name: openclaw.gcp.gateway
        tasks_from: image_tag
        public: true
    - ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', role_path ~ '/templates/Dockerfile.j2') }}"
        dest: "{{ out }}/Dockerfile"
        mode: "0600"
      vars:
        role_path: "%s/roles/gateway"
    - ansible.builtin.copy:
        content: "{{ gateway_image }}"
        dest: "{{ out }}/tag"
        mode: "0600"
""" % ROOT


def render(tmp_path, **settings):
    proc = run_play(tmp_path, PLAY, dict(settings, out=str(tmp_path)))
    if proc.returncode != 0:
        return None, None, proc.stdout + proc.stderr
    return (tmp_path / 'Dockerfile').read_text(), (tmp_path / 'tag').read_text(), proc.stdout


def from_lines(dockerfile):
    return [line for line in dockerfile.splitlines() if line.startswith('FROM ')]


@pytest.mark.parametrize('version', ['2026.9.6'])
def test_digest_pins_the_prebuilt_image_and_changes_the_tag(tmp_path, version):
    (tmp_path / 'tag').mkdir()
    by_tag, tag_of_tag, out = render(tmp_path / 'tag', gateway_source='image', gateway_version=version)
    assert by_tag is not None, out
    (tmp_path / 'digest').mkdir()
    by_digest, tag_of_digest, out = render(tmp_path / 'digest', gateway_source='image', gateway_version=version,
                                           gateway_image_digest=DIGEST)
    assert by_digest is not None, out
    assert from_lines(by_tag) == ['FROM ghcr.io/openclaw/openclaw:%s' % version]
    assert from_lines(by_digest) == ['FROM ghcr.io/openclaw/openclaw@%s' % DIGEST]
    # the version still names the image; the context hash (and so the tag) follows the digest
    assert tag_of_tag.startswith('openclaw-gateway:%s-' % version)
    assert tag_of_digest.startswith('openclaw-gateway:%s-' % version)
    assert tag_of_digest != tag_of_tag


def test_base_digest_pins_the_node_base_of_the_npm_build(tmp_path):
    (tmp_path / 'tag').mkdir()
    by_tag, tag_of_tag, out = render(tmp_path / 'tag', gateway_source='npm',
                                     gateway_binaries=[{'name': 'tool', 'url': 'file:///srv/tool', 'sha256': '0' * 64}])
    assert by_tag is not None, out
    (tmp_path / 'digest').mkdir()
    by_digest, tag_of_digest, out = render(tmp_path / 'digest', gateway_source='npm', gateway_base_image_digest=DIGEST,
                                           gateway_binaries=[{'name': 'tool', 'url': 'file:///srv/tool', 'sha256': '0' * 64}])
    assert by_digest is not None, out
    # both stages (the binaries' and the final one) start from the pinned base
    assert from_lines(by_tag) == ['FROM node:24-bookworm-slim AS binaries', 'FROM node:24-bookworm-slim']
    assert from_lines(by_digest) == ['FROM node:24-bookworm-slim@%s AS binaries' % DIGEST,
                                     'FROM node:24-bookworm-slim@%s' % DIGEST]
    assert tag_of_digest != tag_of_tag


@pytest.mark.parametrize('settings, message', [
    ({'gateway_source': 'image', 'gateway_image_digest': 'sha256:abc'},
     'gateway_image_digest must be empty or sha256: and 64 lower-case hex digits (got sha256:abc)'),
    ({'gateway_source': 'image', 'gateway_image_digest': 'latest'},
     'gateway_image_digest must be empty or sha256: and 64 lower-case hex digits (got latest)'),
    ({'gateway_source': 'npm', 'gateway_image_digest': DIGEST},
     'gateway_image_digest pins the prebuilt image: it needs gateway_source image (got npm; '
     'gateway_base_image_digest pins the base image of the npm and git sources)'),
    ({'gateway_source': 'npm', 'gateway_base_image_digest': 'sha256:ABC'},
     'gateway_base_image_digest must be empty or sha256: and 64 lower-case hex digits (got sha256:ABC)'),
    ({'gateway_source': 'image', 'gateway_base_image_digest': DIGEST},
     'gateway_base_image_digest pins the base image of the npm and git sources; with gateway_source image'
     ' pin the prebuilt image with gateway_image_digest'),
])
def test_bad_digest_is_refused(tmp_path, settings, message):
    dockerfile, dummy, out = render(tmp_path, **settings)
    assert dockerfile is None
    assert message in out
