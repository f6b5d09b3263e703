# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit-test set-up: make ``ansible_collections.openclaw.gcp`` importable and offer the fake API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _collection_path():
    """The same layout scripts/env.sh creates: .cache/collections/ansible_collections/openclaw/gcp -> root."""
    base = os.path.join(ROOT, '.cache', 'collections')
    link = os.path.join(base, 'ansible_collections', 'openclaw', 'gcp')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join('..', '..', '..', '..'), link)
    return base


if not any(p.rstrip('/').endswith(os.path.join('.cache', 'collections')) for p in sys.path):
    sys.path.insert(0, _collection_path())
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from fake_gcp import OVERRIDE_VARS, FakeGoogle, run_module  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The shared options fall back to GCP_* variables: keep the caller's out of the tests."""
    for name in ('GCP_PROJECT', 'GCP_AUTH_KIND', 'GCP_SERVICE_ACCOUNT_FILE', 'GCP_SERVICE_ACCOUNT_CONTENTS',
                 'GCP_ACCESS_TOKEN', 'GCP_SCOPES', 'GOOGLE_CLOUD_UNIVERSE_DOMAIN', 'CLOUDSDK_CORE_UNIVERSE_DOMAIN') + OVERRIDE_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def google(monkeypatch):
    """An in-memory Google API; every AuthorizedSession the client opens talks to it."""
    import google.auth.transport.requests as transport  # pylint: disable=import-outside-toplevel
    from ansible_collections.openclaw.gcp.plugins.module_utils import gcp  # pylint: disable=import-outside-toplevel

    fake = FakeGoogle()
    monkeypatch.setattr(transport, 'AuthorizedSession', fake.session_factory)
    monkeypatch.setattr(gcp.time, 'sleep', fake.sleep)
    return fake


@pytest.fixture
def run(google):  # pylint: disable=redefined-outer-name
    """Run a module's main() with arguments; returns its result dict (``failed`` set on failure)."""
    def runner(module, args, check=False, diff=False):
        return run_module(module, args, check=check, diff=diff)
    return runner
