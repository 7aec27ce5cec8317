/**
 * Manifests of e-learning packages: imsmanifest.xml (SCORM 1.2, SCORM 2004 2nd-4th edition), tincan.xml (xAPI)
 * and cmi5.xml (cmi5). Each parser answers what the import stores (standard, version, title, launch file,
 * SCOs / activities / AUs) and the files the manifest points at, which must exist in the zip.
 */
import type { PackageStandard, PackageStructure } from "./tables";
import {
  attr,
  attrCi,
  child,
  childrenNamed,
  descendants,
  local,
  parseXml,
  textOf,
  type XmlElement,
  XmlError,
} from "./xml";
import { ZipError } from "./zip";

export const MANIFEST_FILES = { scorm: "imsmanifest.xml", cmi5: "cmi5.xml", xapi: "tincan.xml" } as const;

export interface ParsedManifest {
  standard: PackageStandard;
  standardVersion: string | null;
  title: string;
  launchPath: string;
  structure: PackageStructure;
  /** Package-relative paths the manifest points at (launch files, listed files). */
  referencedFiles: string[];
}

class ManifestError extends ZipError {}

const fail = (message: string): never => {
  throw new ManifestError(message);
};

function parse(source: string, file: string): XmlElement {
  try {
    return parseXml(source);
  } catch (err) {
    if (err instanceof XmlError) throw new ManifestError(`${file} is not well-formed XML: ${err.message}`);
    throw err;
  }
}

const isUrl = (href: string) => /^[a-z][a-z0-9+.-]*:/i.test(href);

/** Joins `xml:base` values and an href into a package-relative path (refusing anything leaving the package). */
function resolve(bases: (string | undefined)[], href: string, what: string): string {
  const raw = [...bases.filter((b): b is string => !!b), href].reduce((acc, part) => {
    if (isUrl(part) || part.startsWith("/")) return part;
    if (!acc) return part;
    return acc.endsWith("/") ? acc + part : `${acc.slice(0, acc.lastIndexOf("/") + 1)}${part}`;
  }, "");
  if (isUrl(raw)) fail(`${what} points outside the package (${raw}); SCORM content must launch a file in the zip.`);
  if (raw.startsWith("/")) fail(`${what} has an absolute path (${raw}).`);
  const [pathPart] = raw.split(/[?#]/, 1);
  const segments: string[] = [];
  for (const segment of safeDecode(pathPart).split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.length === 0) fail(`${what} escapes the package (${raw}).`);
      segments.pop();
    } else segments.push(segment);
  }
  return segments.join("/") + raw.slice(pathPart.length);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The file part of a launch path (query and fragment removed). */
export function filePart(path: string): string {
  return path.split(/[?#]/, 1)[0];
}

/** Item parameters appended to a launch href as SCORM says (`?` becomes `&` when the href has a query). */
function withParameters(href: string, parameters: string | undefined): string {
  const p = parameters?.trim();
  if (!p) return href;
  if (p.startsWith("#")) return href.includes("#") ? href : href + p;
  const query = p.replace(/^[?&]+/, "");
  if (!query) return href;
  const [base, fragment] = href.split("#", 2);
  const joined = base.includes("?") ? `${base}&${query}` : `${base}?${query}`;
  return fragment === undefined ? joined : `${joined}#${fragment}`;
}

function numberOrNull(text: string | undefined): number | null {
  if (text === undefined || text.trim() === "") return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

function childCi(element: XmlElement | undefined, name: string): XmlElement | undefined {
  const lower = name.toLowerCase();
  return element?.children.find((c) => local(c.name).toLowerCase() === lower);
}

// ---- SCORM -----------------------------------------------------------------------------------------------------

type Controls = { flow: boolean; choice: boolean; forward_only: boolean };

/**
 * An organization's or item's `<imsss:sequencing><imsss:controlMode>` (IMS SS defaults: choice true, flow false,
 * forwardOnly false); it governs the navigation between the element's children. Only controlMode is read: a
 * `sequencingCollection` referenced by IDRef, sequencing rules, rollup rules and objective maps are not.
 */
function controlsOf(element: XmlElement): Controls {
  const mode = child(child(element, "sequencing"), "controlMode");
  const flag = (name: string, fallback: boolean) => {
    const value = attr(mode, name)?.trim().toLowerCase();
    return value === "true" || value === "1" ? true : value === "false" || value === "0" ? false : fallback;
  };
  return { flow: flag("flow", false), choice: flag("choice", true), forward_only: flag("forwardOnly", false) };
}

function scormVersion(manifest: XmlElement): { standard: "scorm12" | "scorm2004"; version: string } {
  const metadata = child(manifest, "metadata");
  const schemaVersion = textOf(child(metadata, "schemaversion"));
  if (schemaVersion === "1.2") return { standard: "scorm12", version: "1.2" };
  if (schemaVersion === "CAM 1.3") return { standard: "scorm2004", version: "2004 2nd Edition" };
  const edition = /^2004 (2nd|3rd|4th) Edition$/i.exec(schemaVersion);
  if (edition) return { standard: "scorm2004", version: `2004 ${edition[1].toLowerCase()} Edition` };
  if (schemaVersion)
    fail(
      `imsmanifest.xml declares an unsupported schemaversion "${schemaVersion}" (1.2, CAM 1.3, 2004 3rd/4th Edition).`,
    );
  // No schemaversion: the ADL namespaces say which SCORM this is.
  const namespaces = Object.entries(manifest.attributes)
    .filter(([k]) => k === "xmlns" || k.startsWith("xmlns:"))
    .map(([, v]) => v.toLowerCase());
  if (namespaces.some((n) => n.includes("adlcp_v1p3"))) return { standard: "scorm2004", version: "2004 3rd Edition" };
  return { standard: "scorm12", version: "1.2" };
}

export function parseScormManifest(source: string, prefixBase: string | undefined = undefined): ParsedManifest {
  const manifest = parse(source, "imsmanifest.xml");
  if (local(manifest.name) !== "manifest") fail("imsmanifest.xml has no <manifest> root element.");
  const { standard, version } = scormVersion(manifest);
  const manifestBase = attr(manifest, "base") ?? prefixBase;
  const resourcesEl = child(manifest, "resources");
  const resourcesBase = attr(resourcesEl, "base");
  const resources = new Map<string, XmlElement>();
  for (const r of childrenNamed(resourcesEl, "resource")) {
    const id = attr(r, "identifier");
    if (!id) fail("A <resource> in imsmanifest.xml has no identifier.");
    resources.set(id as string, r);
  }
  const referenced = new Set<string>();
  for (const r of resources.values()) {
    const base = [manifestBase, resourcesBase, attr(r, "base")];
    const href = attr(r, "href");
    if (href && !isUrl(href)) referenced.add(filePart(resolve(base, href, `Resource "${attr(r, "identifier")}"`)));
    for (const f of childrenNamed(r, "file")) {
      const fileHref = attr(f, "href");
      if (fileHref && !isUrl(fileHref)) {
        referenced.add(filePart(resolve(base, fileHref, `A file of resource "${attr(r, "identifier")}"`)));
      }
    }
  }

  const organizationsEl = child(manifest, "organizations");
  const organizations = childrenNamed(organizationsEl, "organization");
  const defaultId = attr(organizationsEl, "default");
  const organization = organizations.find((o) => attr(o, "identifier") === defaultId) ?? organizations[0];
  if (!organization) fail("imsmanifest.xml has no <organization>: nothing to launch.");
  const scos: NonNullable<PackageStructure["scos"]> = [];
  const walk = (item: XmlElement, parentControls: Controls) => {
    const ref = attr(item, "identifierref");
    if (ref) {
      const resource = resources.get(ref);
      if (!resource) fail(`Item "${attr(item, "identifier")}" references resource "${ref}", which the manifest lacks.`);
      const r = resource as XmlElement;
      const href = attr(r, "href");
      if (!href) fail(`Resource "${ref}" has no href: item "${attr(item, "identifier")}" cannot be launched.`);
      const launch = resolve([manifestBase, resourcesBase, attr(r, "base")], href as string, `Resource "${ref}"`);
      const scormType = (attrCi(r, "scormtype") ?? "asset").toLowerCase() === "sco" ? "sco" : "asset";
      const sequencing = child(item, "sequencing");
      const primary = child(child(sequencing, "objectives"), "primaryObjective");
      const measure =
        attr(primary, "satisfiedByMeasure") === "true"
          ? numberOrNull(textOf(child(primary, "minNormalizedMeasure")))
          : null;
      const parameters = attr(item, "parameters") ?? null;
      scos.push({
        identifier: attr(item, "identifier") ?? ref,
        title: textOf(child(item, "title")) || (ref as string),
        launch: withParameters(launch, parameters ?? undefined),
        scorm_type: scormType,
        parameters,
        mastery_score:
          standard === "scorm12" ? numberOrNull(textOf(childCi(item, "masteryscore")) || undefined) : measure,
        launch_data: textOf(childCi(item, "datafromlms")) || null,
        max_time_allowed: textOf(childCi(item, "maxtimeallowed")) || null,
        time_limit_action: textOf(childCi(item, "timelimitaction")) || null,
        completion_threshold: numberOrNull(
          attr(child(item, "completionThreshold"), "minProgressMeasure") ??
            (textOf(child(item, "completionThreshold")) || undefined),
        ),
        visible: attrCi(item, "isvisible")?.trim().toLowerCase() !== "false",
        parent_controls: parentControls,
      });
    }
    const own = controlsOf(item);
    for (const c of childrenNamed(item, "item")) walk(c, own);
  };
  const rootControls = controlsOf(organization as XmlElement);
  for (const item of childrenNamed(organization as XmlElement, "item")) walk(item, rootControls);
  if (scos.length === 0) fail("The default organization of imsmanifest.xml has no launchable item.");
  const first = scos.find((s) => s.scorm_type === "sco") ?? scos[0];
  const title =
    textOf(child(organization, "title")) ||
    textOf(descendants(child(manifest, "metadata") ?? manifest, "langstring")[0]) ||
    "Untitled package";
  return {
    standard,
    standardVersion: version,
    title,
    launchPath: first.launch,
    structure: {
      scos,
      organizations: organizations.map((o) => ({
        identifier: attr(o, "identifier") ?? "",
        title: textOf(child(o, "title")),
        default: o === organization,
      })),
    },
    referencedFiles: [...new Set([...referenced, ...scos.map((s) => filePart(s.launch))])],
  };
}

// ---- xAPI (tincan.xml) --------------------------------------------------------------------------------------------

export function parseTincan(source: string): ParsedManifest {
  const root = parse(source, "tincan.xml");
  if (local(root.name) !== "tincan") fail("tincan.xml has no <tincan> root element.");
  const activities = descendants(root, "activity").map((a) => {
    const launch = child(a, "launch");
    return {
      id: attr(a, "id") ?? "",
      type: attr(a, "type") ?? null,
      name: textOf(child(a, "name")) || null,
      launch: launch ? resolve([], textOf(launch), `The launch of activity "${attr(a, "id")}"`) : null,
    };
  });
  if (activities.some((a) => !a.id)) fail("An <activity> in tincan.xml has no id.");
  const launchable = activities.filter((a) => a.launch);
  if (launchable.length === 0) fail("tincan.xml has no activity with a <launch> file.");
  const first = launchable[0];
  return {
    standard: "xapi",
    standardVersion: null,
    title: first.name ?? first.id,
    launchPath: first.launch as string,
    structure: { activities: [first, ...activities.filter((a) => a !== first)] },
    referencedFiles: launchable.map((a) => filePart(a.launch as string)),
  };
}

// ---- cmi5 (cmi5.xml) --------------------------------------------------------------------------------------------

const MOVE_ON = ["Passed", "Completed", "CompletedAndPassed", "CompletedOrPassed", "NotApplicable"];
const LAUNCH_METHODS = ["AnyWindow", "OwnWindow"];

function langstring(element: XmlElement | undefined): string {
  const strings = childrenNamed(element, "langstring");
  return textOf(strings[0]) || textOf(element);
}

export function parseCmi5(source: string): ParsedManifest {
  const root = parse(source, "cmi5.xml");
  if (local(root.name) !== "courseStructure") fail("cmi5.xml has no <courseStructure> root element.");
  const course = child(root, "course");
  const courseId = attr(course, "id");
  if (!course || !courseId) fail("cmi5.xml has no <course> with an id.");
  const ids = new Set<string>([courseId as string]);
  const aus: NonNullable<PackageStructure["aus"]> = [];
  for (const block of descendants(root, "block")) {
    const id = attr(block, "id");
    if (!id) fail("A <block> in cmi5.xml has no id.");
    if (ids.has(id as string)) fail(`cmi5.xml uses the id "${id}" twice.`);
    ids.add(id as string);
  }
  for (const au of descendants(root, "au")) {
    const id = attr(au, "id");
    if (!id) fail("An <au> in cmi5.xml has no id.");
    if (ids.has(id as string)) fail(`cmi5.xml uses the id "${id}" twice.`);
    ids.add(id as string);
    const urlText = textOf(child(au, "url"));
    if (!urlText) fail(`AU "${id}" has no <url>.`);
    const moveOn = attr(au, "moveOn") ?? "NotApplicable";
    if (!MOVE_ON.includes(moveOn)) fail(`AU "${id}" has an invalid moveOn "${moveOn}" (${MOVE_ON.join(", ")}).`);
    const launchMethod = attr(au, "launchMethod") ?? "AnyWindow";
    if (!LAUNCH_METHODS.includes(launchMethod)) fail(`AU "${id}" has an invalid launchMethod "${launchMethod}".`);
    const masteryText = attr(au, "masteryScore");
    const mastery = numberOrNull(masteryText);
    if (masteryText !== undefined && (mastery === null || mastery < 0 || mastery > 1)) {
      fail(`AU "${id}" has a masteryScore outside 0..1 ("${masteryText}").`);
    }
    aus.push({
      id: id as string,
      title: langstring(child(au, "title")) || (id as string),
      url: isUrl(urlText) ? urlText : resolve([], urlText, `The url of AU "${id}"`),
      move_on: moveOn,
      mastery_score: mastery,
      launch_method: launchMethod,
      launch_parameters: textOf(child(au, "launchParameters")) || null,
      activity_type: attr(au, "activityType") ?? null,
      entitlement_key: textOf(child(au, "entitlementKey")) || null,
    });
  }
  if (aus.length === 0) fail("cmi5.xml has no <au>: nothing to launch.");
  const blocks = descendants(root, "block").map((block) => ({
    id: attr(block, "id") as string,
    title: langstring(child(block, "title")) || (attr(block, "id") as string),
    au_ids: descendants(block, "au").map((au) => attr(au, "id") as string),
  }));
  return {
    standard: "cmi5",
    standardVersion: "1.0",
    title: langstring(child(course, "title")) || (courseId as string),
    launchPath: aus[0].url,
    structure: { course_id: courseId as string, aus, blocks },
    referencedFiles: aus.filter((a) => !isUrl(a.url)).map((a) => filePart(a.url)),
  };
}
