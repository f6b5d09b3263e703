# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a playbook against localhost (connection local) with this checkout as openclaw.gcp."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def run_play(tmp_path, play, settings):
    """ansible-playbook PLAY on localhost with SETTINGS as extra vars; the finished process."""
    (tmp_path / 'play.yml').write_text(play)
    settings = dict(settings, ansible_python_interpreter=sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.cache', 'collections'),
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    return subprocess.run(['ansible-playbook', '-i', 'localhost,', str(tmp_path / 'play.yml'), '-e', json.dumps(settings)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
