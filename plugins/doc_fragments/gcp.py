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
  api_endpoint_overrides:
    description:
      - Base URLs that replace Google's own host for some APIs, keyed by service name
        (V(compute), V(serviceusage), V(iam), V(cloudresourcemanager), V(cloudbilling), V(oslogin)), for a
        Private Service Connect endpoint, a regional or restricted endpoint, or a proxy that
        exposes the APIs under its own host.
      - Each value is what gcloud's C(api_endpoint_overrides/<service>) property takes; for Compute
        Engine the root and its service path (C(https://compute-myep.p.googleapis.com/compute/v1/)),
        for the other services the root only (C(https://iam-myep.p.googleapis.com/)); the API
        version (C(v1/), C(v3/)) is added by the client.
      - If not set, gcloud's own environment variables are read, one per service,
        E(CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE), E(CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE),
        E(CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM), E(CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER),
        E(CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBILLING), E(CLOUDSDK_API_ENDPOINT_OVERRIDES_OSLOGIN).
      - Services without an override are called at C(https://<service>.<universe domain>/).
      - Unknown service names and values that are not http(s) URLs fail the task before any request.
    type: dict
  universe_domain:
    description:
      - The universe domain whose API hosts are called, V(googleapis.com) unless set.
      - If not set, E(GOOGLE_CLOUD_UNIVERSE_DOMAIN) or E(CLOUDSDK_CORE_UNIVERSE_DOMAIN) is used, else the
        universe domain of the service-account key or Application Default Credentials.
      - Credentials of another universe domain fail the task before any request.
    type: str
  token_cache:
    description:
      - Share one OAuth2 access token among every module process (each task, fork and loop item) and
        inventory run of this user on this controller, until less than 5 minutes of it remain, so a
        playbook run exchanges its credentials for a token once instead of once per task.
      - The token is kept in C($XDG_CACHE_HOME/openclaw-gcp/) (else C(~/.cache/openclaw-gcp/)), a
        directory of mode 0700, in a file of mode 0600 named by a hash of the auth kind, the
        credentials' identity (a key's C(client_email) and C(private_key_id)), the scopes and the token
        URI; it never holds the key itself. A file that is corrupt, not owned by the user or readable by
        others is ignored and replaced. A token the API rejects (HTTP 401) is exchanged again.
      - Not used with O(auth_kind=accesstoken), whose token is given.
      - If not set, E(OPENCLAW_GCP_TOKEN_CACHE) is used (V(0) or V(false) turns the cache off), else V(true).
    type: bool
requirements:
  - python >= 3.9
  - google-auth >= 2.30
  - requests >= 2.31
notes:
  - Every module run opens one authorized session; with O(token_cache) (the default) a token is exchanged
    once per controller and credentials until it nears expiry, not once per module run.
  - Requests are retried with exponential back-off and jitter on HTTP 429, 500, 502, 503, 504 and on
    connection errors, at most 8 attempts and 120 seconds per request.
  - Google's answers that mean "not yet" are waited out (up to the module's C(timeout) option where it has
    one, else 180 seconds); an API enabled moments ago (HTTP 403 C(SERVICE_DISABLED) while Service Usage
    already reports it C(ENABLED)), a service account created moments ago (HTTP 400 "does not exist"
    while IAM already has it), a resource busy with another operation (C(resourceNotReady), also as an
    operation's error), a stale etag or fingerprint (HTTP 412 or 409 C(ABORTED), read again and retried).
    The same answers for an API that is really disabled or an account that really does not exist fail at once.
  - A successful answer that is not JSON fails the task with the URL and HTTP status. Inserts carry a request id
    that stays the same on every retry; other changes re-read the resource before a retry, so a
    change whose response was lost is not applied twice.
  - API failures are reported as one sentence naming the action, the resource, the HTTP status and
    Google's reason and message.
'''
