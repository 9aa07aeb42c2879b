/** The SRX driver users pass to `createCloud({ networkDevices: [srxDriver({...})] })`. */
import type { FirewallDevice, FirewallDeviceDriver, NetworkDeviceConfig } from '@stratus/core';
import { SrxDevice } from './srx-device.js';
import type { SrxDriverOptions } from './srx-options.js';

/** A Juniper SRX driver (provider `JuniperSRX`): NETCONF over SSH, one private candidate and one commit per call. */
export function srxDriver(options: SrxDriverOptions): FirewallDeviceDriver {
  return {
    provider: 'JuniperSRX',
    kind: 'firewall',
    async open(config: NetworkDeviceConfig): Promise<FirewallDevice> {
      const device = new SrxDevice(config, options);
      await device.connect();
      return device;
    },
  };
}
