/**
 * The SRX driver runs the network-device conformance suite against fake-junos: after each step the fake's committed
 * configuration, read back by what drivers.md §7.3 prescribes, equals what the applied rules ask for.
 */
import { srxDriver } from '@stratus/driver-srx';
import { firewallDeviceConformanceSuite } from '@stratus/testkit';
import { at, childrenOf, type FakeJunos, junosDeviceView, startFakeJunos, textOf } from '@stratus/testkit/fake-junos';

const layout = { publicInterface: 'ge-0/0/1', privateInterface: 'ge-0/0/2' };
let fake: FakeJunos;

/** The counter of the first term of `filter` whose `from <field>` names `ip/32`. */
function counterOf(filter: string, field: 'destination-address' | 'source-address', ip: string): string {
  const f = childrenOf(at(fake.runningConfig(), 'firewall', 'family', 'inet'), 'filter').find(
    (x) => textOf(x, 'name') === filter,
  );
  const term = childrenOf(f, 'term').find((t) =>
    childrenOf(at(t, 'from'), field).some((a) => textOf(a, 'name') === `${ip}/32`),
  );
  if (term === undefined) throw new Error(`no term of ${filter} names ${ip}`);
  return textOf(at(term, 'then'), 'count');
}

firewallDeviceConformanceSuite({
  name: 'driver-srx on fake-junos',
  async open() {
    fake = await startFakeJunos();
    return srxDriver({ hostKey: { insecureSkipVerify: true } }).open({
      ip: fake.host,
      credentials: { username: fake.username, password: fake.password },
      ...layout,
      numRetries: 1,
      timeoutMs: 10_000,
      details: { port: String(fake.port) },
    });
  },
  async view() {
    return junosDeviceView(fake.runningConfig(), layout);
  },
  refuseNextCommit() {
    fake.injectFault({ rpc: 'commit-configuration', kind: 'error', message: 'commit failed: (injected) daemon busy' });
  },
  dropOnNextLoad() {
    fake.injectFault({ rpc: 'load-configuration', kind: 'drop' });
  },
  dropAfterNextCommit() {
    fake.injectFault({ rpc: 'commit-configuration', kind: 'drop-after' });
  },
  async setTraffic(ip, received, sent) {
    fake.setCounter('stratus-in', counterOf('stratus-in', 'destination-address', ip), received);
    fake.setCounter('stratus-out', counterOf('stratus-out', 'source-address', ip), sent);
  },
  async close() {
    await fake.close();
  },
});
