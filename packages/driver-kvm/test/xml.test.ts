import { describe, expect, it } from 'vitest';
import { attr, buildXml, child, children, parseXml, text } from '../src/xml.js';

describe('libvirt XML on xml2js', () => {
  const dumpxml = `<?xml version="1.0"?>
<!-- written by libvirt -->
<domain type='kvm' id='3'>
  <name>vm &amp; co</name>
  <memory unit='KiB'>1048576</memory>
  <features>
    <acpi/>
  </features>
  <devices>
    <emulator> /usr/bin/qemu </emulator>
    <disk type='file' device='disk'>
      <source file='/var/lib/a b.qcow2'/>
    </disk>
  </devices>
</domain>
`;

  it('parses attributes under @_, text under #text (trimmed), entities decoded, repeatable elements as arrays', () => {
    expect(parseXml(dumpxml)).toEqual({
      domain: [
        {
          '@_type': 'kvm',
          '@_id': '3',
          name: 'vm & co',
          memory: { '@_unit': 'KiB', '#text': '1048576' },
          features: { acpi: '' },
          devices: {
            emulator: '/usr/bin/qemu',
            disk: [{ '@_type': 'file', '@_device': 'disk', source: { '@_file': '/var/lib/a b.qcow2' } }],
          },
        },
      ],
    });
  });

  it('builds what it parses back to the same tree, escaping text and attribute values', () => {
    const hostile = `x'"<a>&$(rm -rf /);`;
    const xml = buildXml({
      pool: { '@_type': 'dir', name: hostile, target: { path: { '#text': hostile } }, source: { '@_dir': hostile } },
    });
    expect(xml).not.toContain('<a>');
    const pool = child(parseXml(xml), 'pool');
    expect(text(pool, 'name')).toBe(hostile);
    expect(text(child(pool, 'target'), 'path')).toBe(hostile);
    expect(attr(child(pool, 'source'), 'dir')).toBe(hostile);
    expect(buildXml({ pool: pool! })).toBe(xml);
  });

  it('drops absent values and writes empty elements short', () => {
    const xml = buildXml({
      disk: { '@_type': 'file', '@_cache': undefined, readonly: '', shareable: { '#text': '' } },
    });
    expect(xml).toBe('<disk type="file">\n  <readonly/>\n  <shareable/>\n</disk>');
    expect(children(child(parseXml(xml), 'disk'), 'readonly')).toEqual([{ '#text': '' }]);
  });

  it('refuses text that is not well-formed XML', () => {
    expect(() => parseXml('<domain><name>x</domain>')).toThrow(/Unexpected close tag|Unclosed/);
  });
});
