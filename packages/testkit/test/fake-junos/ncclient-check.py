#!/usr/bin/python3
"""Debian's python3-ncclient (an independent NETCONF client, Junos device handler) against fake-junos.

Usage: ncclient-check.py PORT USER PASSWORD. Prints one JSON object of what it saw; exits non-zero on surprise.
"""
import json
import sys

from ncclient import manager
from ncclient.operations import RPCError, RaiseMode
from ncclient.xml_ import to_ele

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
m = manager.connect(host='127.0.0.1', port=port, username=user, password=password, hostkey_verify=False,
                    allow_agent=False, look_for_keys=False, device_params={'name': 'junos'}, timeout=20)
# warnings are not failures (Junos: 'statement not found' on a delete of a missing statement)
m.raise_mode = RaiseMode.ERRORS
out['session_id'] = m.session_id
out['base11'] = 'urn:ietf:params:netconf:base:1.1' in m.server_capabilities
out['junos_cap'] = 'http://xml.juniper.net/netconf/junos/1.0' in m.server_capabilities

# a private candidate: no lock needed
m.rpc(to_ele('<open-configuration><private/></open-configuration>'))
# ncclient wraps the element it is given in <configuration>
app = ('<applications><application><name>tcp-8080</name><protocol>tcp</protocol>'
       '<destination-port>8080</destination-port></application></applications>')
r = m.load_configuration(action='merge', config=to_ele(app))
out['load_ok'] = r.xpath('//load-configuration-results/ok') != []
c = m.commit()
out['commit_success'] = c.xpath('//commit-success') != []
m.rpc(to_ele('<close-configuration/>'))

got = m.get_configuration(format='xml', filter=to_ele('<configuration><applications/></configuration>'))
out['committed_app_port'] = got.xpath('//application[name="tcp-8080"]/destination-port')[0].text

# a commit that must fail: a policy naming an application that does not exist
m.rpc(to_ele('<open-configuration><private/></open-configuration>'))
bad = ('<security><policies><policy><from-zone-name>untrust</from-zone-name><to-zone-name>trust</to-zone-name>'
       '<policy><name>p1</name><match><source-address>any</source-address><destination-address>any</destination-address>'
       '<application>no-such-app</application></match><then><permit/></then></policy></policy></policies></security>')
m.load_configuration(action='merge', config=to_ele(bad))
try:
    m.commit()
    out['commit_error'] = None
except RPCError as e:
    errs = getattr(e, 'errors', None) or [e]  # several rpc-errors arrive as one RPCError with .errors
    out['commit_error'] = [{'severity': x.severity, 'tag': x.tag, 'message': x.message} for x in errs]
m.rpc(to_ele('<close-configuration/>'))

# deleting a statement that is not there: a warning, not an error
m.rpc(to_ele('<open-configuration><private/></open-configuration>'))
gone = '<applications><application delete="delete"><name>never-was</name></application></applications>'
try:
    r = m.load_configuration(action='merge', config=to_ele(gone))
    out['delete_missing'] = {'ok': r.xpath('//load-configuration-results/ok') != [],
                             'warnings': [w.text for w in r.xpath('//rpc-error[error-severity="warning"]/error-message')]}
except RPCError as e:
    out['delete_missing'] = {'raised': e.message, 'severity': e.severity}
m.rpc(to_ele('<close-configuration/>'))

# standard NETCONF get-config of running
gc = m.get_config(source='running')
out['get_config_has_app'] = gc.xpath('//application[name="tcp-8080"]') != []
m.close_session()
print(json.dumps(out))
