/**
 * A small, strict-enough XML reader for package manifests (Workers have no DOMParser): elements, attributes,
 * text, CDATA, comments, processing instructions and the DOCTYPE (skipped, never expanded: no entity tricks).
 * Names keep their prefixes; `local()` gives the name without one, which is how manifests are matched (their
 * namespace prefixes vary between authoring tools).
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class XmlError extends Error {}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

export function local(name: string): string {
  const i = name.indexOf(":");
  return i < 0 ? name : name.slice(i + 1);
}

export function parseXml(source: string): XmlElement {
  const xml = source.replace(/^\uFEFF/, "");
  const root: XmlElement = { name: "#document", attributes: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  let i = 0;
  const fail = (what: string): never => {
    throw new XmlError(`Malformed XML at offset ${i}: ${what}`);
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const top = stack[stack.length - 1];
    if (lt < 0) {
      top.text += decode(xml.slice(i));
      break;
    }
    if (lt > i) top.text += decode(xml.slice(i, lt));
    i = lt;
    if (xml.startsWith("<!--", i)) {
      const end = xml.indexOf("-->", i + 4);
      if (end < 0) fail("unterminated comment");
      i = end + 3;
    } else if (xml.startsWith("<![CDATA[", i)) {
      const end = xml.indexOf("]]>", i + 9);
      if (end < 0) fail("unterminated CDATA");
      top.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith("<?", i)) {
      const end = xml.indexOf("?>", i + 2);
      if (end < 0) fail("unterminated processing instruction");
      i = end + 2;
    } else if (xml.startsWith("<!", i)) {
      // DOCTYPE (with an optional internal subset): skipped, entities are never expanded.
      let depth = 0;
      let j = i + 2;
      for (; j < xml.length; j++) {
        const ch = xml[j];
        if (ch === "[") depth++;
        else if (ch === "]") depth--;
        else if (ch === ">" && depth <= 0) break;
      }
      if (j >= xml.length) fail("unterminated declaration");
      i = j + 1;
    } else if (xml.startsWith("</", i)) {
      const end = xml.indexOf(">", i);
      if (end < 0) fail("unterminated end tag");
      const name = xml.slice(i + 2, end).trim();
      const open = stack.pop();
      if (!open || open === root || open.name !== name) fail(`unexpected </${name}>`);
      i = end + 1;
    } else {
      const match = /^<([^\s/>]+)/.exec(xml.slice(i, i + 300));
      if (!match) fail("bad tag");
      const element: XmlElement = { name: (match as RegExpExecArray)[1], attributes: {}, children: [], text: "" };
      i += (match as RegExpExecArray)[0].length;
      const attr = /\s*([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/y;
      for (;;) {
        attr.lastIndex = i;
        const a = attr.exec(xml);
        if (!a) break;
        element.attributes[a[1]] = decode(a[3] ?? a[4] ?? "");
        i = attr.lastIndex;
      }
      while (i < xml.length && /\s/.test(xml[i])) i++;
      top.children.push(element);
      if (xml.startsWith("/>", i)) i += 2;
      else if (xml[i] === ">") {
        i += 1;
        stack.push(element);
      } else fail(`bad attribute in <${element.name}>`);
    }
  }
  if (stack.length !== 1) throw new XmlError(`Malformed XML: <${stack[stack.length - 1].name}> is never closed.`);
  const elements = root.children;
  if (elements.length !== 1) throw new XmlError("Malformed XML: a document has exactly one root element.");
  return elements[0];
}

/** Child elements by local name. */
export function childrenNamed(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((c) => local(c.name) === name) : [];
}

export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => local(c.name) === name);
}

/** Attribute by local name (any prefix). */
export function attr(element: XmlElement | undefined, name: string): string | undefined {
  if (!element) return undefined;
  if (name in element.attributes) return element.attributes[name];
  const key = Object.keys(element.attributes).find((k) => local(k) === name);
  return key === undefined ? undefined : element.attributes[key];
}

/** Attribute by local name, matching case-insensitively (SCORM 1.2 tools write scormtype and scormType). */
export function attrCi(element: XmlElement | undefined, name: string): string | undefined {
  if (!element) return undefined;
  const lower = name.toLowerCase();
  const key = Object.keys(element.attributes).find((k) => local(k).toLowerCase() === lower);
  return key === undefined ? undefined : element.attributes[key];
}

export function textOf(element: XmlElement | undefined): string {
  if (!element) return "";
  return (element.text + element.children.map(textOf).join("")).trim();
}

/** The descendants with a local name, depth-first. */
export function descendants(element: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (local(c.name) === name) out.push(c);
      walk(c);
    }
  };
  walk(element);
  return out;
}
