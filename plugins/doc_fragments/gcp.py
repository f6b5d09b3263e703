# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Shared authentication and endpoint options of every openclaw.gcp module.
    DOCUMENTATION = r'''
options:
  project:
    description:
      - The Google Cloud project to work in.
      - If not set, the value of the E(GCP_PROJECT) environment variable is used.
      - Modules that work inside a project fail before any request when no project is known.
    type: str
  auth_kind:
    description:
      - How to authenticate.
      - V(serviceaccount) uses a service-account key from O(service_account_file) or O(service_account_contents).
      - V(accesstoken) uses the bearer token in O(access_token) as it is.
      - V(machineaccount) uses the service account of the Compute Engine VM the task runs on.
      - V(application) uses Application Default Credentials.
      - If not set, E(GCP_AUTH_KIND) is used; without it the kind is inferred, in this order, from
        O(access_token), then O(service_account_file) or O(service_account_contents), else V(application).
    type: str
    choices: [application, serviceaccount, machineaccount, accesstoken]
  service_account_file:
    description:
      - Path to a service-account key file (JSON).
      - If not set, E(GCP_SERVICE_ACCOUNT_FILE) is used.
      - An unreadable or malformed file fails the task before any request.
      - Mutually exclusive with O(service_account_contents).
    type: path
  service_account_contents:
    description:
      - The contents of a service-account key (JSON), as a string or a dictionary.
      - If not set, E(GCP_SERVICE_ACCOUNT_CONTENTS) is used.
    type: jsonarg
  access_token:
    description:
      - An OAuth2 access token, used with O(auth_kind=accesstoken).
      - If not set, E(GCP_ACCESS_TOKEN) is used.
    type: str
  scopes:
    description:
      - OAuth2 scopes requested for the access token.
      - If not set, E(GCP_SCOPES) (comma separated) is used, else C(https://www.googleapis.com/auth/cloud-platform).
    type: list
    elements: str
  api_endpoint:
    description:
      - One base URL that replaces every Google API host, for example a local emulator such as
        C(http://127.0.0.1:8080).
      - Compute Engine is then reached under C(<api_endpoint>/compute/v1/), Service Usage under
        C(<api_endpoint>/serviceusage/v1/), IAM under C(<api_endpoint>/iam/v1/), Resource Manager under
        C(<api_endpoint>/cloudresourcemanager/v1/) and C(v3/), Cloud Billing under
        C(<api_endpoint>/cloudbilling/v1/) and the OAuth2 token endpoint at C(<api_endpoint>/token).
      - If not set, E(OPENCLAW_GCP_API_ENDPOINT) is used; without it the real Google APIs are used.
    type: str
requirements:
  - python >= 3.9
  - google-auth >= 2.30
  - requests >= 2.31
notes:
  - Every module run opens one authorized session and exchanges credentials for a token once.
  - Requests are retried with exponential back-off and jitter on HTTP 429, 500, 502, 503, 504 and on
    connection errors, at most 8 attempts and 120 seconds per request. Inserts carry a request id
    that stays the same on every retry; other changes re-read the resource before a retry, so a
    change whose response was lost is not applied twice.
  - API failures are reported as one sentence naming the action, the resource, the HTTP status and
    Google's reason and message.
'''
