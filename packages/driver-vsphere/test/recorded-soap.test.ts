/**
 * Faults and paging the govmomi simulator 0.24 cannot produce (drivers.md §5.9: `maxObjects` paging, `DuplicateName` on
 * a clone, a vCenter without list views), replayed from recorded SOAP answers by a loopback HTTP server. The answers
 * are written in the wire format vcsim and vCenter use (SOAP 1.1, `urn:vim25`, faults in `detail` with `xsi:type`
 * under an arbitrary prefix), not from the driver's code.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DriverError } from '@stratus/core';
import { afterEach, describe, expect, it } from 'vitest';
import { PropertyCollector } from '../src/property-collector.js';
import { leaf, mor } from '../src/soap-xml.js';
import { TaskWaiter } from '../src/task-waiter.js';
import { VimHttp } from '../src/vim-http.js';
import { VimSession } from '../src/vim-session.js';

const ENV_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const ENV_CLOSE = '</soapenv:Body></soapenv:Envelope>';
const ok = (method: string, inner: string) =>
  `${ENV_OPEN}<${method}Response xmlns="urn:vim25">${inner}</${method}Response>${ENV_CLOSE}`;
const fault = (type: string, fields = '', message = '') =>
  `${ENV_OPEN}<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${message}</faultstring><detail><${type}Fault xmlns="urn:vim25" xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="${type}">${fields}</${type}Fault></detail></soapenv:Fault>${ENV_CLOSE}`;

const SERVICE_CONTENT = ok(
  'RetrieveServiceContent',
  '<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><about><fullName>VMware vCenter Server 7.0.3 build-19234570</fullName><apiType>VirtualCenter</apiType><apiVersion>7.0.3.0</apiVersion><instanceUuid>0b7e7c4c-7d1f-4e43-9c2e-2b8f9a3f6d11</instanceUuid></about><sessionManager type="SessionManager">SessionManager</sessionManager><searchIndex type="SearchIndex">SearchIndex</searchIndex></returnval>',
);
const VERSIONS =
  '<?xml version="1.0" encoding="UTF-8"?><namespaces version="1.0"><namespace><name>urn:vim25</name><version>7.0.3.0</version><priorVersions><version>7.0</version><version>6.7</version></priorVersions></namespace></namespaces>';

const vmObject = (id: number) =>
  `<objects><obj type="VirtualMachine">vm-${id}</obj><propSet><name>name</name><val xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="xsd:string">vm ${id}</val></propSet></objects>`;

interface Recorded {
  method: string;
  body: string;
}

/** A loopback server answering each method with the next recorded answer for it. */
async function replay(
  answers: Record<string, Array<{ status: number; body: string }>>,
): Promise<{ origin: string; server: Server; log: Recorded[] }> {
  const log: Recorded[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/sdk/vimServiceVersions.xml') {
      res.writeHead(200, { 'content-type': 'text/xml' }).end(VERSIONS);
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      const method = /<soapenv:Body><(\w+)>/.exec(body)?.[1] ?? '?';
      log.push({ method, body });
      if (method === 'Login') {
        res.writeHead(200, {
          'set-cookie': 'vmware_soap_session="52a1"; Path=/; HttpOnly',
          'content-type': 'text/xml',
        });
        res.end(ok('Login', '<returnval><key>52a1</key><userName>admin</userName></returnval>'));
        return;
      }
      if (method === 'RetrieveServiceContent') {
        res.writeHead(200).end(SERVICE_CONTENT);
        return;
      }
      const next = answers[method]?.shift();
      if (next === undefined) {
        res.writeHead(500).end(fault('MethodNotFound', '', `no recorded answer for ${method}`));
        return;
      }
      res.writeHead(next.status, { 'content-type': 'text/xml; charset=utf-8' }).end(next.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, log };
}

describe('recorded vCenter answers', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('negotiates 7.0 from vimServiceVersions.xml and follows ContinueRetrievePropertiesEx until no token (maxObjects paging)', async () => {
    const fake = await replay({
      RetrievePropertiesEx: [
        {
          status: 200,
          body: ok('RetrievePropertiesEx', `<returnval><token>page-2</token>${vmObject(1)}${vmObject(2)}</returnval>`),
        },
      ],
      ContinueRetrievePropertiesEx: [
        {
          status: 200,
          body: ok('ContinueRetrievePropertiesEx', `<returnval><token>page-3</token>${vmObject(3)}</returnval>`),
        },
        { status: 200, body: ok('ContinueRetrievePropertiesEx', `<returnval>${vmObject(4)}</returnval>`) },
      ],
    });
    server = fake.server;
    const session = new VimSession(new VimHttp({ origin: fake.origin, timeoutMs: 2_000 }), 'admin', 'secret');
    const objects = await new PropertyCollector(session).properties(
      'VirtualMachine',
      [{ type: 'VirtualMachine', value: 'vm-1' }],
      ['name'],
      { maxObjects: 2 },
    );
    expect(session.apiVersion).toBe('7.0');
    expect(objects.map((o) => o.props.get('name')?.text)).toEqual(['vm 1', 'vm 2', 'vm 3', 'vm 4']);
    expect(fake.log.map((r) => r.method)).toEqual([
      'RetrieveServiceContent',
      'Login',
      'RetrievePropertiesEx',
      'ContinueRetrievePropertiesEx',
      'ContinueRetrievePropertiesEx',
    ]);
    expect(fake.log[2]!.body).toContain('<maxObjects>2</maxObjects>');
    expect(fake.log[3]!.body).toContain('<token>page-2</token>');
    expect(fake.log[4]!.body).toContain('<token>page-3</token>');
    // The password went to Login only.
    expect(fake.log.filter((r) => r.body.includes('secret')).map((r) => r.method)).toEqual(['Login']);
  });

  it('a clone that ends DuplicateName is AlreadyExists; without list views the waiter polls the task', async () => {
    const taskInfo = (state: string, extra = '') =>
      ok(
        'RetrievePropertiesEx',
        `<returnval><objects><obj type="Task">task-77</obj><propSet><name>info</name><val xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="TaskInfo"><key>task-77</key><state>${state}</state>${extra}</val></propSet></objects></returnval>`,
      );
    const fake = await replay({
      CloneVM_Task: [{ status: 200, body: ok('CloneVM_Task', '<returnval type="Task">task-77</returnval>') }],
      CreateListView: [{ status: 500, body: fault('NotImplemented', '', 'not implemented') }],
      RetrievePropertiesEx: [
        { status: 200, body: taskInfo('running', '<progress>40</progress>') },
        {
          status: 200,
          body: taskInfo(
            'error',
            '<error><fault XMLSchema-instance:type="DuplicateName"><name>i-2-10-VM</name><object type="VirtualMachine">vm-31</object></fault><localizedMessage>The name \'i-2-10-VM\' already exists.</localizedMessage></error>',
          ),
        },
      ],
    });
    server = fake.server;
    const session = new VimSession(new VimHttp({ origin: fake.origin, timeoutMs: 2_000 }), 'admin', 'secret');
    const waiter = new TaskWaiter(session, new PropertyCollector(session));
    const res = await session.call('CloneVM_Task', { type: 'VirtualMachine', value: 'vm-9' }, [
      mor('folder', { type: 'Folder', value: 'group-v3' }),
      leaf('name', 'i-2-10-VM'),
    ]);
    const progress: number[] = [];
    const error = await waiter
      .wait(
        { type: 'Task', value: res.children[0]!.text },
        { operation: 'CloneVM_Task', timeoutMs: 5_000, onProgress: (p) => progress.push(p) },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ driverCode: 'AlreadyExists', vendorCode: 'DuplicateName' });
    expect((error as DriverError).details?.fault).toMatchObject({ name: 'i-2-10-VM' });
    expect(waiter.polledWaits).toBe(1);
    expect(progress).toContain(40);
  });

  it('HTTP 200 with NotAuthenticated in missingSet logs in again and replays; a second refusal is AuthFailed', async () => {
    const missing = ok(
      'RetrievePropertiesEx',
      '<returnval><objects><obj type="Folder">group-d1</obj><missingSet><path>name</path><fault><fault xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="NotAuthenticated"><object type="Folder">group-d1</object><privilegeId>System.View</privilegeId></fault><localizedMessage></localizedMessage></fault></missingSet></objects></returnval>',
    );
    const fake = await replay({
      RetrievePropertiesEx: [
        { status: 200, body: missing },
        { status: 200, body: missing },
      ],
    });
    server = fake.server;
    const session = new VimSession(new VimHttp({ origin: fake.origin, timeoutMs: 2_000 }), 'admin', 'secret');
    const error = await new PropertyCollector(session)
      .one({ type: 'Folder', value: 'group-d1' }, ['name'])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ driverCode: 'AuthFailed', vendorCode: 'NotAuthenticated' });
    expect(session.logins).toBe(2);
    expect(fake.log.map((r) => r.method)).toEqual([
      'RetrieveServiceContent',
      'Login',
      'RetrievePropertiesEx',
      'Login',
      'RetrievePropertiesEx',
    ]);
  });
});
