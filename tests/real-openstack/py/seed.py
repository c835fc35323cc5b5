"""Wait for both sites' services, then seed them like a production pair.

Both sites (as the keystone admin): flavor m1.small, group type `consistent`
(consistent_group_snapshot_enabled='<is> True', the default group type in
cinder.conf), volume type `replicated` (replication_enabled='<is> True': the
file-backed driver mirrors such volumes to the other site). Site-a (as
Lifeboat's operator, project vnf-ops): three VNFs, servers booted from volume
on their own Neutron ports (option 1's tests protect `vims`, option 2's
`vepc`, option 3's `vmme`, so each has its own manifest):

    vims-db-1  role db  priority 1      each: <name>-boot (1 GiB, bootable, /dev/vda)
    vims-app-1 role app priority 2            <name>-data (1 GiB, /dev/vdb)
    vims-lb-1  role lb  priority 3      tags <vnf>, vnf:<vnf>; metadata role, priority, vnf
    vepc-db-1  role db  priority 1
    vepc-app-1 role app priority 2
    vmme-db-1  role db  priority 1      (option 3's: replicated by option3/prepare)
    vmme-app-1 role app priority 2

Networks, at both sites (the same CIDRs, as a DR pair with mirrored
addressing): mgmt 10.1.0.0/16, signalling 10.2.0.0/16, media 10.3.0.0/16,
each with an isolated `-test` twin (drills), the external flat network
`public` (203.0.113.0/24, admin-made) and a router `lifeboat-rt` from the
three networks to it. At site-b only, the backup site's own addressing for
the re-IP recovery: mgmt-dr 172.16.0.0/16, signalling-dr 172.17.0.0/16,
media-dr 172.18.0.0/16. At site-a per VNF and role: security group
`<vnf>-<role>` (ssh from 10.0.0.0/8, icmp, the role's port: db 5432 from
app, app 8080 from lb, lb 443 and 5060/udp from anywhere), server group
`<vnf>-<role>` (anti-affinity), key pair `<vnf>-ops`; each server a port per
network (db/app: mgmt + signalling; lb: mgmt + media), fixed IP from the
pool, MAC from Neutron. vims's VIP: port `vims-lb-vip` on media, allowed on
vims-lb-1's media port, with a floating IP from `public`.

Every volume gets known, non-zero content written straight into the
file-backed driver's file (BASE/data/site-a/volumes/volume-<id>): a header
naming the volume at offset 0, 1 MiB of seeded pseudo-random bytes at 256 MiB
and a trailer in the last 4 KiB. BASE/seed.json lists what was made.

Usage: seed.py BASE   (env OS_CLIENT_CONFIG_FILE = BASE/clouds.yaml)
"""
import json
import os
import random
import subprocess
import sys
import time

from keystoneauth1 import adapter, exceptions, session
from keystoneauth1.identity import v3

BASE = sys.argv[1]
KURL = 'http://127.0.0.1:5000/v3'
MiB = 1024 * 1024
SERVERS = [('vims', 'vims-db-1', 'db', 1), ('vims', 'vims-app-1', 'app', 2), ('vims', 'vims-lb-1', 'lb', 3),
           ('vepc', 'vepc-db-1', 'db', 1), ('vepc', 'vepc-app-1', 'app', 2),
           ('vmme', 'vmme-db-1', 'db', 1), ('vmme', 'vmme-app-1', 'app', 2)]


def sess(user, pw, project):
    return session.Session(auth=v3.Password(auth_url=KURL, username=user, password=pw, project_name=project,
                                            user_domain_id='default', project_domain_id='default'))


ADMIN = sess('admin', 'secretpass', 'admin')
OPER = sess('operator', 'lifeboat', 'vnf-ops')


def api(s, service, region):
    mv = {'compute': '2.96', 'block-storage': '3.71'}.get(service)
    if service == 'network':
        return adapter.Adapter(s, service_type=service, region_name=region, interface='public', raise_exc=True)
    return adapter.Adapter(s, service_type=service, region_name=region, interface='public',
                           default_microversion=mv, raise_exc=True)


# A service still starting (or a worker restarted under load) drops or
# refuses a connection, or its proxy answers 502/503/504: not up yet.
NOT_YET = (exceptions.ConnectionError, exceptions.BadGateway, exceptions.ServiceUnavailable,
           exceptions.GatewayTimeout)


def until(what, fn, timeout=180, every=1.0):
    end = time.time() + timeout
    last = None
    while True:
        try:
            v = fn()
        except NOT_YET as e:
            v, last = None, e
        if v:
            return v
        if time.time() > end:
            sys.exit('seed: timed out waiting for %s%s' % (what, ' (last: %s)' % last if last else ''))
        time.sleep(every)


def wait_status(a, path, key, want, timeout=120):
    def probe():
        st = a.get(path).json()[key]['status']
        if st.lower() in ('error', 'error_restoring'):
            sys.exit('seed: %s went %s' % (path, st))
        return st == want
    until('%s %s' % (path, want), probe, timeout, 0.5)


t0 = time.time()
for site in ('site-a', 'site-b'):
    nova, cinder = api(ADMIN, 'compute', site), api(ADMIN, 'block-storage', site)
    conf = os.path.join(BASE, 'etc', site, 'nova', 'nova.conf')

    def hypervisor():
        if nova.get('/os-hypervisors').json()['hypervisors']:
            return True
        subprocess.run([os.path.join(BASE, 'venv/bin/nova-manage'), '--config-file', conf, 'cell_v2',
                        'discover_hosts'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return False
    until('%s compute host' % site, hypervisor, 180, 2)

    def cinder_up():
        svcs = cinder.get('/os-services').json()['services']
        if sum(1 for s in svcs if s['state'] == 'up') < 3:
            return False
        # The scheduler knows the volume service's pool only once that
        # service reported its capabilities: a volume created before then
        # goes to error ("No valid backend was found").
        return bool(cinder.get('/scheduler-stats/get_pools').json().get('pools'))
    until('%s cinder scheduler+volume+backup, and its pool known' % site, cinder_up, 180, 2)

    if not any(f['name'] == 'm1.small' for f in nova.get('/flavors').json()['flavors']):
        nova.post('/flavors', json={'flavor': {'name': 'm1.small', 'id': '1', 'vcpus': 1, 'ram': 512, 'disk': 1}})
    if not any(g['name'] == 'consistent' for g in cinder.get('/group_types').json()['group_types']):
        cinder.post('/group_types', json={'group_type': {
            'name': 'consistent', 'group_specs': {'consistent_group_snapshot_enabled': '<is> True'}}})
    if not any(t['name'] == 'replicated' for t in cinder.get('/types').json()['volume_types']):
        cinder.post('/types', json={'volume_type': {'name': 'replicated', 'extra_specs': {
            'replication_enabled': '<is> True'}}})
    print('seed: %s ready (%.0fs)' % (site, time.time() - t0), flush=True)

NETWORKS = [('mgmt', '10.1.0.0/16'), ('signalling', '10.2.0.0/16'), ('media', '10.3.0.0/16')]
DR_NETWORKS = [('mgmt-dr', '172.16.0.0/16'), ('signalling-dr', '172.17.0.0/16'), ('media-dr', '172.18.0.0/16')]


def find(a, coll, **kw):
    q = '&'.join('%s=%s' % kv for kv in kw.items())
    items = a.get('/v2.0/%s?%s' % (coll, q)).json()[coll.replace('-', '_')]
    return items[0] if items else None


def make(a, coll, key, body, **match):
    return find(a, coll, **match) or a.post('/v2.0/%s' % coll, json={key: body}).json()[key]


for site in ('site-a', 'site-b'):
    adm, net = api(ADMIN, 'network', site), api(OPER, 'network', site)
    public = make(adm, 'networks', 'network', {'name': 'public', 'router:external': True,
                  'provider:network_type': 'flat', 'provider:physical_network': 'public'}, name='public')
    make(adm, 'subnets', 'subnet', {'name': 'public-subnet', 'network_id': public['id'], 'ip_version': 4,
         'cidr': '203.0.113.0/24', 'enable_dhcp': False,
         'allocation_pools': [{'start': '203.0.113.10', 'end': '203.0.113.200'}]}, name='public-subnet')
    rt = make(net, 'routers', 'router', {'name': 'lifeboat-rt',
              'external_gateway_info': {'network_id': public['id']}}, name='lifeboat-rt')
    for name, cidr in NETWORKS:
        for n in (name, name + '-test'):
            nw = make(net, 'networks', 'network', {'name': n}, name=n)
            sn = make(net, 'subnets', 'subnet', {'name': n + '-subnet', 'network_id': nw['id'],
                      'ip_version': 4, 'cidr': cidr}, name=n + '-subnet')
            if n == name and not find(net, 'ports', device_id=rt['id'], network_id=nw['id']):
                net.put('/v2.0/routers/%s/add_router_interface' % rt['id'], json={'subnet_id': sn['id']})
    if site == 'site-b':
        # The backup site's own addressing, for the re-IP recovery (a site
        # mapping moves 10.N.0.0/16 to these): no router, never on site-a.
        for name, cidr in DR_NETWORKS:
            nw = make(net, 'networks', 'network', {'name': name}, name=name)
            make(net, 'subnets', 'subnet', {'name': name + '-subnet', 'network_id': nw['id'],
                 'ip_version': 4, 'cidr': cidr}, name=name + '-subnet')
    print('seed: %s networks ready (%.0fs)' % (site, time.time() - t0), flush=True)

net = api(OPER, 'network', 'site-a')
nova, cinder = api(OPER, 'compute', 'site-a'), api(OPER, 'block-storage', 'site-a')
RULES = {'db': [('tcp', 5432, None, 'app')], 'app': [('tcp', 8080, None, 'lb')],
         'lb': [('tcp', 443, '0.0.0.0/0', None), ('udp', 5060, '0.0.0.0/0', None)]}


def security_group(vnf, role):
    name = '%s-%s' % (vnf, role)
    g = find(net, 'security-groups', name=name)
    if g:
        return g['id']
    g = net.post('/v2.0/security-groups', json={'security_group': {
        'name': name, 'description': '%s %s tier' % (vnf, role)}}).json()['security_group']
    rules = [('tcp', 22, '10.0.0.0/8', None), ('icmp', None, '0.0.0.0/0', None)] + RULES[role]
    for proto, p, prefix, peer in rules:
        r = {'security_group_id': g['id'], 'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': proto}
        if p:
            r.update(port_range_min=p, port_range_max=p)
        if prefix:
            r['remote_ip_prefix'] = prefix
        if peer:
            r['remote_group_id'] = security_group(vnf, peer)
        net.post('/v2.0/security-group-rules', json={'security_group_rule': r})
    return g['id']


def server_group(vnf, role):
    name = '%s-%s' % (vnf, role)
    for g in nova.get('/os-server-groups').json()['server_groups']:
        if g['name'] == name:
            return g['id']
    return nova.post('/os-server-groups', json={'server_group': {
        'name': name, 'policy': 'anti-affinity'}}).json()['server_group']['id']


def port(name, network, groups):
    nw = find(net, 'networks', name=network)
    return net.post('/v2.0/ports', json={'port': {'name': name, 'network_id': nw['id'],
                    'security_groups': groups}}).json()['port']


for vnf in sorted({v for v, _, _, _ in SERVERS}):
    if not any(k['keypair']['name'] == vnf + '-ops' for k in nova.get('/os-keypairs').json()['keypairs']):
        # Nova checks the key: a real one (its private half is not kept).
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        pub = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        nova.post('/os-keypairs', json={'keypair': {'name': vnf + '-ops', 'type': 'ssh',
                                                    'public_key': '%s %s-ops' % (pub, vnf)}})

voldir = os.path.join(BASE, 'data', 'site-a', 'volumes')
seeded = {'servers': [], 'volumes': []}


def new_volume(name):
    r = cinder.post('/volumes', json={'volume': {'name': name, 'size': 1}}, raise_exc=False)
    if r.status_code >= 400:
        sys.exit('seed: volume create %s failed: HTTP %d %s' % (name, r.status_code, r.text[:300]))
    return r.json()['volume']['id']


def fill(vid, name):
    """Known content, written where a guest would have written it."""
    rnd = random.Random(name)
    path = os.path.join(voldir, 'volume-%s' % vid)
    header = ('LIFEBOAT-SEED %s %s\n' % (name, vid)).encode().ljust(4096, b'.')
    with open(path, 'r+b') as f:
        f.seek(0)
        f.write(header)
        f.seek(256 * MiB)
        f.write(rnd.randbytes(MiB))
        f.seek(1024 * MiB - 4096)
        f.write(('END %s' % name).encode().ljust(4096, b'#'))
    seeded['volumes'].append({'name': name, 'id': vid, 'header': header[:64].decode().strip('.')})


for vnf, name, role, prio in SERVERS:
    boot, data = new_volume(name + '-boot'), new_volume(name + '-data')
    for vid in (boot, data):
        wait_status(cinder, '/volumes/%s' % vid, 'volume', 'available')
    fill(boot, name + '-boot')
    fill(data, name + '-data')
    cinder.post('/volumes/%s/action' % boot, json={'os-set_bootable': {'bootable': True}})
    sg = security_group(vnf, role)
    nets = ['mgmt', 'media' if role == 'lb' else 'signalling']
    ports = [port('%s-%s' % (name, n), n, [sg]) for n in nets]
    srv = nova.post('/servers', json={'server': {
        'name': name, 'flavorRef': '1', 'networks': [{'port': p['id']} for p in ports],
        'key_name': vnf + '-ops',
        'tags': [vnf, 'vnf:' + vnf],
        'metadata': {'role': role, 'priority': str(prio), 'vnf': vnf},
        'block_device_mapping_v2': [{'boot_index': 0, 'uuid': boot, 'source_type': 'volume',
                                     'destination_type': 'volume', 'delete_on_termination': False}]},
        'os:scheduler_hints': {'group': server_group(vnf, role)}}).json()['server']
    if role == 'lb':
        # The VIP the lb tier answers on: a port of its own, allowed on the lb's
        # media port, reached from outside through a floating IP.
        vip = port(vnf + '-lb-vip', 'media', [sg])
        ip = vip['fixed_ips'][0]['ip_address']
        net.put('/v2.0/ports/%s' % ports[1]['id'], json={'port': {
            'allowed_address_pairs': [{'ip_address': ip}]}})
        public = find(net, 'networks', name='public')
        net.post('/v2.0/floatingips', json={'floatingip': {
            'floating_network_id': public['id'], 'port_id': vip['id']}})
    seeded['servers'].append({'vnf': vnf, 'name': name, 'id': srv['id'], 'boot': boot, 'data': data})
    # one at a time: with the fake driver a boot takes ~2 s, and the seed stays simple
    wait_status(nova, '/servers/%s' % srv['id'], 'server', 'ACTIVE')
for s in seeded['servers']:
    # One at a time, and again on 409: right after ACTIVE, Nova can still
    # refuse an attach while the instance finishes its build (task_state).
    def attach():
        r = nova.post('/servers/%s/os-volume_attachments' % s['id'], raise_exc=False,
                      json={'volumeAttachment': {'volumeId': s['data']}})
        if r.status_code == 409:
            print('seed: attach %s: 409 %s; retrying' % (s['name'], r.text[:200]), flush=True)
            return False
        if r.status_code >= 400:
            sys.exit('seed: attach %s: %s %s' % (s['name'], r.status_code, r.text[:300]))
        return True
    until('attach of %s' % s['data'], attach, 60, 2)
    wait_status(cinder, '/volumes/%s' % s['data'], 'volume', 'in-use')
with open(os.path.join(BASE, 'seed.json'), 'w') as f:
    json.dump(seeded, f, indent=1)
print('seed: vims, vepc and vmme seeded at site-a: %d servers, %d volumes (%.0fs)'
      % (len(seeded['servers']), len(seeded['volumes']), time.time() - t0))
