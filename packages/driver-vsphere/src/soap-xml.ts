/**
 * Writing SOAP 1.1 request bodies for the vSphere API by hand (drivers.md §5.1: no WSDL exists to drive a
 * generator). Every text and attribute value goes through {@link escapeXml}, so a name with quotes, `<`, `&` or
 * non-ASCII characters never breaks an envelope.
 */

/** A fragment of request XML built by the helpers below (never raw user text). */
export type XmlFragment = string;

/** A managed object reference (`ManagedObjectReference`): `<x type="VirtualMachine">vm-42</x>`. */
export interface MoRef {
  type: string;
  value: string;
}

const XML_SPECIAL: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * Escapes text for element content or an attribute value. Characters XML 1.0 cannot carry at all (most C0 controls)
 * are refused, since no escape makes them legal.
 */
export function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing the control characters XML 1.0 forbids
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text))
    throw new RangeError(`text cannot be carried in XML (control character): ${JSON.stringify(text)}`);
  return text.replace(/[&<>"']/g, (c) => XML_SPECIAL[c]!);
}

/** `<name>children…</name>`; undefined children are left out. */
export function el(name: string, ...children: ReadonlyArray<XmlFragment | undefined>): XmlFragment {
  return `<${name}>${children.filter((c) => c !== undefined).join('')}</${name}>`;
}

/** `<name>value</name>` with the value escaped (numbers and booleans as XML Schema writes them). */
export function leaf(name: string, value: string | number | boolean): XmlFragment {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `leaf` when the value is defined, nothing otherwise. */
export function optLeaf(name: string, value: string | number | boolean | undefined): XmlFragment | undefined {
  return value === undefined ? undefined : leaf(name, value);
}

/** A data object of a polymorphic field: `<name xsi:type="Type">…</name>` (drivers.md §5.1). */
export function typed(name: string, xsiType: string, ...children: ReadonlyArray<XmlFragment | undefined>): XmlFragment {
  return `<${name} xsi:type="${escapeXml(xsiType)}">${children.filter((c) => c !== undefined).join('')}</${name}>`;
}

/** A managed object reference element: `<name type="Type">value</name>`. */
export function mor(name: string, ref: MoRef): XmlFragment {
  return `<${name} type="${escapeXml(ref.type)}">${escapeXml(ref.value)}</${name}>`;
}

/** A method call body: `<Method><_this type=…>…</_this>args…</Method>`. */
export function methodCall(method: string, self: MoRef, ...args: ReadonlyArray<XmlFragment | undefined>): XmlFragment {
  return el(method, mor('_this', self), ...args);
}

/** The SOAP 1.1 envelope around one method call, with the `urn:vim25` default namespace. */
export function envelope(body: XmlFragment): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    `xmlns="urn:vim25"><soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}
