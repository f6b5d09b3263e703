#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: oslogin_ssh_key
short_description: Register an SSH public key in an OS Login profile and return its POSIX user
version_added: 0.1.0
description:
  - Adds an SSH public key to (or removes it from) the OS Login profile of the account the
    module authenticates as, with the Cloud OS Login API v1, and returns the POSIX user name of
    that profile, the name to log in with on VMs whose metadata sets C(enable-oslogin=TRUE).
  - Keys are compared by their type and key data (the comment does not count). A key already in
    the profile costs a single GET and no write.
  - Only the caller's own profile can be managed (Google refuses another account's profile).
  - The account also needs an IAM role that grants OS Login on the project,
    C(roles/compute.osAdminLogin) (login with sudo) or C(roles/compute.osLogin); this module
    does not grant it.
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  key:
    description:
      - The public key in OpenSSH format, C(TYPE BASE64 [COMMENT]), for example the content of
        C(~/.ssh/id_ed25519.pub). Never a private key.
      - Not logged (a private key pasted here by mistake stays out of the logs); the result
        names the key by its type and fingerprint.
    type: str
    required: true
  user:
    description:
      - Email of the account whose profile is managed. It must be the account the module
        authenticates as.
      - Defaults to the email of the credentials (a service account key, or a machine account
        once known). Required with O(auth_kind=accesstoken) and with user credentials.
    type: str
  expiration_time_usec:
    description:
      - When the key expires, in microseconds since the epoch. Omitted or V(0) means never.
      - A key already in the profile with another expiration is updated.
    type: int
  state:
    description:
      - V(present) adds the key, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - VMs read the profile live (OS Login's NSS module and SSH C(AuthorizedKeysCommand)), so a key
    added here works on the next login, without touching the VM's metadata.
seealso:
  - name: OS Login API v1
    description: Google's reference for login profiles and SSH public keys.
    link: https://cloud.google.com/compute/docs/oslogin/rest
'''

EXAMPLES = r'''
- name: Register the operator's key with OS Login
  openclaw.gcp.oslogin_ssh_key:
    project: my-openclaw-project
    key: "{{ lookup('ansible.builtin.file', '~/.ssh/openclaw_gcp_ed25519.pub') }}"
  register: oslogin

- name: Log in as the profile's POSIX user from now on
  ansible.builtin.set_fact:
    ansible_user: "{{ oslogin.username }}"

- name: A key that expires in a day
  openclaw.gcp.oslogin_ssh_key:
    key: "{{ lookup('ansible.builtin.file', 'deploy.pub') }}"
    user: deployer@my-openclaw-project.iam.gserviceaccount.com
    expiration_time_usec: "{{ ((now(utc=true).timestamp() + 86400) * 1000000) | int }}"

- name: Remove a key from the profile
  openclaw.gcp.oslogin_ssh_key:
    key: "{{ lookup('ansible.builtin.file', 'old.pub') }}"
    state: absent
'''

RETURN = r'''
username:
  description:
    - The POSIX user name of the profile (the primary POSIX account), the login on OS Login
      VMs. C(sa_) and a number for a service account.
    - Null when the profile has no POSIX account yet (possible in check mode before the first
      key is added).
  returned: always
  type: str
  sample: sa_112233445566778899001
user:
  description: Email of the account whose profile was managed.
  returned: always
  type: str
  sample: openclaw-automation@my-openclaw-project.iam.gserviceaccount.com
fingerprint:
  description: Google's fingerprint of the key in the profile (null when it is not there).
  returned: always
  type: str
  sample: 5f0e3c4a...
key_type:
  description: The type of the public key.
  returned: always
  type: str
  sample: ssh-ed25519
posix_accounts:
  description: The profile's POSIX accounts as Google returns them (username, uid, gid, home directory, ...).
  returned: always
  type: list
  elements: dict
'''

import base64
import binascii
import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import Applied, GcpError, GcpModule

KEY_TYPE = re.compile(r'^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$')
EMAIL = re.compile(r'^[^@\s/:]+@[^@\s/:]+\.[^@\s/:]+$')


def parse_key(text):
    """``(type, data, normalised line)`` of an OpenSSH public key; ``ValueError`` when it is not one."""
    fields = (text or '').strip().split()
    if fields and fields[0].startswith('-----'):
        raise ValueError('this looks like a private key (PEM); give the public key, the .pub file')
    if len(fields) < 2 or not KEY_TYPE.match(fields[0]):
        raise ValueError('expected an OpenSSH public key, TYPE BASE64 [COMMENT], such as the content of a .pub file')
    try:
        blob = base64.b64decode(fields[1].encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValueError('the key data is not base64') from None
    if blob[4:4 + len(fields[0])] != fields[0].encode('ascii'):
        raise ValueError('the key data does not match its type %s' % fields[0])
    return fields[0], fields[1], ' '.join(fields)


def find_key(profile, key_type, data):
    """``(fingerprint, key dict)`` of the profile's key with this type and data, or ``(None, None)``."""
    for fp, found in sorted(((profile or {}).get('sshPublicKeys') or {}).items()):
        fields = (found.get('key') or '').split()
        if len(fields) >= 2 and fields[0] == key_type and fields[1] == data:
            return found.get('fingerprint') or fp, found
    return None, None


def primary_username(profile):
    accounts = (profile or {}).get('posixAccounts') or []
    for account in accounts:
        if account.get('primary'):
            return account.get('username')
    return accounts[0].get('username') if accounts else None


def expiry_of(found):
    value = (found or {}).get('expirationTimeUsec')
    return int(value) if value not in (None, '', '0', 0) else None


def caller_email(client, given):
    """The profile's email: the ``user`` option, else the credentials' own email."""
    if given:
        return given
    email = getattr(client.credentials(), 'service_account_email', None)
    if isinstance(email, str) and '@' in email:
        return email
    raise GcpError('Cannot tell which OS Login profile to manage: these credentials carry no email; set the user option '
                   'to the email of the account you authenticate as.')


def main():
    argument_spec = dict(
        key=dict(type='str', required=True, no_log=True),
        user=dict(type='str'),
        expiration_time_usec=dict(type='int'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True, require_project=False)
    params = module.params
    try:
        key_type, data, line = parse_key(params['key'])
    except ValueError as exc:
        module.fail_json(msg='The key option is not usable: %s (no request was sent).' % exc)
    if params['user'] and not EMAIL.match(params['user']):
        module.fail_json(msg='The user option %r is not an email address (no request was sent).' % params['user'])
    if (params['expiration_time_usec'] or 0) < 0:
        module.fail_json(msg='expiration_time_usec must be 0 or more (no request was sent).')
    wanted_expiry = params['expiration_time_usec'] or None
    present = params['state'] == 'present'
    client = module.client
    query = {'projectId': client.project} if client.project else None
    changed = False
    actions = []
    try:
        user = caller_email(client, params['user'])
        resource = 'OS Login profile of %s' % user
        base = 'users/%s' % user

        def read():
            return client.get('oslogin', base + '/loginProfile', 'read', resource, params=query, allow_404=False)

        profile = read()
        fp, found = find_key(profile, key_type, data)
        before = {'present': found is not None, 'expiration_time_usec': expiry_of(found)}
        after = {'present': present, 'expiration_time_usec': wanted_expiry if present else None}
        if present and found is None:
            actions.append('import key')
        elif present and expiry_of(found) != wanted_expiry:
            actions.append('update key expiration')
        elif not present and found is not None:
            actions.append('delete key')
        changed = bool(actions)

        def settled():
            fresh = read()
            dummy, now_found = find_key(fresh, key_type, data)
            if present and now_found is not None and expiry_of(now_found) == wanted_expiry:
                return Applied(fresh)
            if not present and now_found is None:
                return Applied(fresh)
            return None

        if changed and not module.check_mode:
            body = {'key': line}
            if wanted_expiry:
                body['expirationTimeUsec'] = str(wanted_expiry)
            if 'import key' in actions:
                answer = client.call('POST', 'oslogin', base + ':importSshPublicKey', 'add an SSH key to', resource,
                                     params=query, body=body, reconcile=settled)
                profile = answer.get('loginProfile') or answer
            elif 'update key expiration' in actions:
                client.call('PATCH', 'oslogin', '%s/sshPublicKeys/%s' % (base, fp), 'update an SSH key of', resource,
                            params={'updateMask': 'expirationTimeUsec'},
                            body={'expirationTimeUsec': str(wanted_expiry or 0)}, reconcile=settled)
                profile = read()
            else:
                client.call('DELETE', 'oslogin', '%s/sshPublicKeys/%s' % (base, fp), 'delete an SSH key of', resource,
                            reconcile=settled)
                profile = read()
            fp, found = find_key(profile, key_type, data)
            if (found is not None) != present:
                raise GcpError('Failed to %s %s: Google answered, but the key is %s the profile.' % (
                    actions[0], resource, 'not in' if present else 'still in'))
        elif changed and not present:
            fp = None
    except GcpError as exc:
        module.fail_gcp(exc)
    result = {
        'changed': changed,
        'actions': actions,
        'user': user,
        'username': primary_username(profile),
        'fingerprint': fp if present else None,
        'key_type': key_type,
        'posix_accounts': profile.get('posixAccounts') or [],
    }
    if module._diff:  # pylint: disable=protected-access
        result['diff'] = {'before': before, 'after': after}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
