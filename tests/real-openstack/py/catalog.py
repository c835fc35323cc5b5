"""Register both regions in the shared Keystone (one Python process, ~2 s,
instead of ~60 openstack CLI calls at ~0.9 s each).

Regions site-a and site-b; users: the service users (project `service`,
roles admin + service) and Lifeboat's `operator` (project `vnf-ops`, roles
member + admin: Cinder's backup export/import records are admin-only).
Endpoints (public, internal, admin) per region for identity, compute,
block-storage, image, placement, network, object-store and dns (one
Designate for both regions: the same URL in each). Idempotent: re-running changes nothing.

Usage: catalog.py ENDPOINTS_JSON   (env: OS_* of the keystone admin)
ENDPOINTS_JSON = {"site-a": {"compute": url, ...}, "site-b": {...}}
"""
import json
import os
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

NAMES = {'identity': 'keystone', 'compute': 'nova', 'block-storage': 'cinderv3',
         'image': 'glance', 'placement': 'placement', 'network': 'neutron',
         'object-store': 'swift', 'dns': 'designate'}

auth = v3.Password(auth_url=os.environ['OS_AUTH_URL'], username='admin',
                   password=os.environ['OS_PASSWORD'], project_name='admin',
                   user_domain_id='default', project_domain_id='default')
ks = client.Client(session=session.Session(auth=auth))
wanted = json.loads(sys.argv[1])
svc_pw, op_user, op_pw, op_project = sys.argv[2:6]


def one(items, **kw):
    for i in items:
        if all(getattr(i, k) == v for k, v in kw.items()):
            return i
    return None


for region in wanted:
    if not one(ks.regions.list(), id=region):
        ks.regions.create(id=region)
roles = {r.name: r for r in ks.roles.list()}
for r in ('service', 'member'):
    if r not in roles:
        roles[r] = ks.roles.create(r)


def project(name):
    return one(ks.projects.list(), name=name) or ks.projects.create(name, 'default')


def user(name, pw, proj, role_names):
    u = one(ks.users.list(), name=name) or ks.users.create(name, domain='default', password=pw, default_project=proj)
    for rn in role_names:
        ks.roles.grant(roles[rn], user=u, project=proj)


service = project('service')
for name in ('cinder', 'nova', 'glance', 'placement', 'neutron', 'swift', 'designate'):
    user(name, svc_pw, service, ('admin', 'service'))
user(op_user, op_pw, project(op_project), ('member', 'admin'))

services = {s.type: s for s in ks.services.list()}
endpoints = ks.endpoints.list()
for region, urls in wanted.items():
    for stype, url in urls.items():
        svc = services.get(stype) or ks.services.create(NAMES[stype], stype)
        services[stype] = svc
        for iface in ('public', 'internal', 'admin'):
            if not one(endpoints, service_id=svc.id, region_id=region, interface=iface):
                ks.endpoints.create(svc, url, interface=iface, region=region)
print('catalog: %s' % ', '.join('%s: %d services' % (r, len(u)) for r, u in wanted.items()))
