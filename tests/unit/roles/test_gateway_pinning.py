# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's image pinning, on the controller only (connection local, nothing built).

tasks_from validate + image_tag (what update.yml runs before it changes anything) and the
rendered Dockerfile: a digest pins the prebuilt image (FROM repo@sha256:...) and gives another
image tag than the bare version tag; a malformed digest, or a digest with the npm source, is
refused with a message that names the setting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
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
    (tmp_path / 'play.yml').write_text(PLAY)
    settings.update(out=str(tmp_path), ansible_python_interpreter=sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    proc = subprocess.run(['ansible-playbook', '-i', 'localhost,', str(tmp_path / 'play.yml'), '-e', json.dumps(settings)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
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


@pytest.mark.parametrize('settings, message', [
    ({'gateway_source': 'image', 'gateway_image_digest': 'sha256:abc'},
     'gateway_image_digest must be empty or sha256: and 64 lower-case hex digits (got sha256:abc)'),
    ({'gateway_source': 'image', 'gateway_image_digest': 'latest'},
     'gateway_image_digest must be empty or sha256: and 64 lower-case hex digits (got latest)'),
    ({'gateway_source': 'npm', 'gateway_image_digest': DIGEST},
     'gateway_image_digest pins the prebuilt image: it needs gateway_source image (got npm)'),
])
def test_bad_digest_is_refused(tmp_path, settings, message):
    dockerfile, dummy, out = render(tmp_path, **settings)
    assert dockerfile is None
    assert message in out
