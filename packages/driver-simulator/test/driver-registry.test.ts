import {
  DRIVER_ERROR_CODES,
  DriverError,
  DriverRegistry,
  type FirewallDevice,
  type FirewallDeviceDriver,
  InvalidParameterError,
  ResourceUnavailableError,
  StratusError,
} from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { simulatorDriver } from '../src/index.js';

const fakeSrx: FirewallDeviceDriver = {
  provider: 'JuniperSRX',
  kind: 'firewall',
  open: () => Promise.reject(new DriverError('Unreachable', 'no device here')) as Promise<FirewallDevice>,
};

describe('DriverError (core contract)', () => {
  it('maps driver codes to stable codes and CloudStack http codes', () => {
    const http = Object.fromEntries(DRIVER_ERROR_CODES.map((c) => [c, new DriverError(c, 'x').httpCode]));
    expect(http).toEqual({
      Unreachable: 534,
      AuthFailed: 530,
      NotFound: 530,
      AlreadyExists: 530,
      InvalidState: 530,
      InsufficientCapacity: 533,
      Unsupported: 432,
      Timeout: 530,
      DeviceError: 530,
    });
    const e = new DriverError('DeviceError', 'VDI in use', {
      scope: { kind: 'pool', ref: 'sr-1' },
      vendorCode: 'VDI_IN_USE',
      vendorMessage: 'The VDI is currently in use',
    });
    expect(e).toBeInstanceOf(StratusError);
    expect(e).toMatchObject({
      name: 'DriverError',
      code: 'DRIVER_DEVICE_ERROR',
      driverCode: 'DeviceError',
      scope: { kind: 'pool', ref: 'sr-1' },
      vendorCode: 'VDI_IN_USE',
      vendorMessage: 'The VDI is currently in use',
      details: { driverCode: 'DeviceError', scope: { kind: 'pool', ref: 'sr-1' }, vendorCode: 'VDI_IN_USE' },
    });
    expect(new DriverError('InsufficientCapacity', 'x').code).toBe('DRIVER_INSUFFICIENT_CAPACITY');
    expect(DriverError.is(e)).toBe(true);
    expect(DriverError.is(e, 'Unreachable', 'DeviceError')).toBe(true);
    expect(DriverError.is(e, 'Timeout')).toBe(false);
    expect(DriverError.is(new Error('x'))).toBe(false);
  });
});

describe('DriverRegistry (core contract)', () => {
  it('finds hypervisor drivers by type, case-insensitively, and device drivers by provider', () => {
    const sim = simulatorDriver();
    const kvm = simulatorDriver({ type: 'KVM' });
    const registry = new DriverRegistry({ hypervisors: [sim, kvm] }).register(fakeSrx);
    expect(registry.hypervisor('Simulator')).toBe(sim);
    expect(registry.hypervisor('kvm')).toBe(kvm);
    expect(registry.hasHypervisor('KVM')).toBe(true);
    expect(registry.hasHypervisor('VMware')).toBe(false);
    expect(registry.networkDevice('juniperSRX')).toBe(fakeSrx);
    expect(registry.hasNetworkDevice('F5BigIp')).toBe(false);
    expect(registry.list()).toEqual({ hypervisors: ['Simulator', 'KVM'], networkDevices: ['JuniperSRX'] });
    expect(registry.hypervisors()).toEqual([sim, kvm]);
    expect(registry.networkDevices()).toEqual([fakeSrx]);
  });

  it('refuses a second driver for a type and names the missing type', () => {
    const registry = new DriverRegistry({ hypervisors: [simulatorDriver({ type: 'KVM' })] });
    expect(() => registry.register(simulatorDriver({ type: 'kvm' }))).toThrow(InvalidParameterError);
    registry.register(fakeSrx);
    expect(() => registry.registerNetworkDevice(fakeSrx)).toThrow(InvalidParameterError);
    expect(() => registry.hypervisor('XenServer')).toThrow(ResourceUnavailableError);
    expect(() => registry.hypervisor('XenServer')).toThrow(/XenServer.*registered: KVM/);
    expect(() => registry.networkDevice('Netscaler')).toThrow(/Netscaler/);
  });
});
