import type { Cloud } from '@stratus/core';
import { printCapacityReport, printHostCapacity } from './capacity-tables.js';
import type { Print } from './format.js';
import { printInventory } from './inventory.js';
import { printNetworks } from './network-tables.js';
import type { DemoOutcome } from './scenario.js';
import { printVmStates } from './vm-tables.js';

/** Prints the whole report: inventory, hosts, capacity, VMs, networks and public IPs. */
export async function printReport(cloud: Cloud, outcome: DemoOutcome, print: Print): Promise<void> {
  const zoneId = outcome.zone.zone.id;
  await printInventory(cloud, zoneId, print);
  await printHostCapacity(cloud, outcome, print);
  await printCapacityReport(cloud, zoneId, print);
  await printVmStates(cloud, outcome, print);
  await printNetworks(cloud, outcome, print);
}
