#!/usr/bin/python3
"""Independent check of a vCenter with Debian's pyVmomi: prints every VM (not templates) as JSON lines with its
name, power state, host and the names of the networks its NICs are on. Run with Debian's /usr/bin/python3.
Arguments: host port user password cafile"""
import json
import ssl
import sys

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

host, port, user, pwd, cafile = sys.argv[1:6]
context = ssl.create_default_context(cafile=cafile)  # verified against the simulator's own certificate
# The simulator's certificate is Go's httptest one, an RSA-1024 key that OpenSSL's default security level 2 refuses.
context.set_ciphers("DEFAULT:@SECLEVEL=1")
si = SmartConnect(host=host, port=int(port), user=user, pwd=pwd, sslContext=context)
try:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    for vm in view.view:
        if vm.config is not None and vm.config.template:
            continue
        nics = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard)]
        networks = []
        for nic in nics:
            backing = nic.backing
            if isinstance(backing, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo):
                networks.append(backing.deviceName)
            elif isinstance(backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
                key = backing.port.portgroupKey
                pgs = [n for n in vm.network if isinstance(n, vim.dvs.DistributedVirtualPortgroup) and n.key == key]
                networks.append(pgs[0].name if pgs else key)
        print(json.dumps({
            "name": vm.name,
            "power": str(vm.runtime.powerState),
            "host": vm.runtime.host.name if vm.runtime.host else None,
            "networks": networks,
            "macs": [n.macAddress for n in nics],
        }))
    view.Destroy()
finally:
    Disconnect(si)
