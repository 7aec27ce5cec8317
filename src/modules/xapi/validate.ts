/**
 * xAPI 1.0.3 statement validation (section 2 of the Data part of the spec): strict property sets, types,
 * Inverse Functional Identifier rules, IRIs, language maps, score ranges, context rules. Every problem is
 * collected with its JSON path; the LRS answers 400 with all of them.
 */
import type { FieldError } from "../../platform/errors";

type Json = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** An absolute IRI: a scheme, a colon, and no whitespace. */
const IRI = /^[a-z][a-z0-9+.-]*:[^\s<>"{}|\\^`]+$/i;
const LANGUAGE_TAG =
  /^(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})(?:-[a-z]{4})?(?:-(?:[a-z]{2}|\d{3}))?(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*(?:-[a-wy-z\d](?:-[a-z\d]{2,8})+)*(?:-x(?:-[a-z\d]{1,8})+)?$|^x(?:-[a-z\d]{1,8})+$|^i-[a-z]{1,8}$/i;
const MBOX = /^mailto:[^@\s]+@[^@\s]+\.[^@\s]+$/i;
const SHA1 = /^[0-9a-f]{40}$/i;
const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d(?::?\d\d)?)$/;
/** ISO 8601 durations (4.4.3.2): weeks stand alone (`P4W`), never with other components (`P4W1D` is invalid). */
const DURATION =
  /^P(?!$)(\d+(?:\.\d+)?Y)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?D)?(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$|^P\d+(?:\.\d+)?W$/;
const VERSION = /^(1\.0(\.\d+)?|2\.0(\.\d+)?)$/;
const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/;
const SHA2 = /^[0-9a-f]{56}$|^[0-9a-f]{64}$|^[0-9a-f]{96}$|^[0-9a-f]{128}$/i;

export const VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided";
export const SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature";

const INTERACTION_TYPES = new Set([
  "true-false",
  "choice",
  "fill-in",
  "long-fill-in",
  "matching",
  "performance",
  "sequencing",
  "likert",
  "numeric",
  "other",
]);
const COMPONENT_LISTS = ["choices", "scale", "source", "target", "steps"] as const;

/** RFC 5646 well-formedness: the grammar, plus no repeated extension singleton or variant (section 2.2.5/2.2.6). */
export function isLanguageTag(tag: string): boolean {
  if (!LANGUAGE_TAG.test(tag)) return false;
  const subtags = tag.toLowerCase().split("-");
  if (subtags[0] === "x" || subtags[0] === "i") return true;
  // Four-letter primary language subtags are reserved (RFC 5646 2.2.1): none is a language (`test` is refused).
  if (subtags[0].length === 4) return false;
  const seen = new Set<string>();
  let inExtension = false;
  for (const sub of subtags.slice(1)) {
    if (sub === "x") break;
    if (sub.length === 1) inExtension = true;
    const variant = !inExtension && /^(?:[a-z\d]{5,8}|\d[a-z\d]{3})$/.test(sub);
    if (sub.length === 1 || variant) {
      if (seen.has(sub)) return false;
      seen.add(sub);
    }
  }
  return true;
}

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}
export function isIri(value: unknown): value is string {
  return typeof value === "string" && IRI.test(value);
}

/** A timestamp per ISO 8601 / RFC 3339 as xAPI requires (the `-00:00` offset is not allowed). */
export function isTimestamp(value: unknown): value is string {
  if (typeof value !== "string") return false;
  const m = TIMESTAMP.exec(value);
  if (!m) return false;
  if (/^-00(:?00)?$/.test(m[8])) return false;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 60;
}

class Checker {
  readonly errors: FieldError[] = [];

  /** xAPI 2.0.0 requests may use 2.0's additions (context agents and groups). */
  constructor(readonly v2 = false) {}

  fail(path: string, message: string) {
    if (this.errors.length < 50) this.errors.push({ path: path || "(statement)", message });
  }

  object(value: unknown, path: string): value is Json {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      this.fail(path, "Must be a JSON object.");
      return false;
    }
    return true;
  }

  keys(value: Json, path: string, allowed: readonly string[]) {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.fail(join(path, key), "Is not a property xAPI allows here.");
    }
  }

  string(value: unknown, path: string): value is string {
    if (typeof value !== "string") {
      this.fail(path, "Must be a string.");
      return false;
    }
    return true;
  }

  boolean(value: unknown, path: string) {
    if (typeof value !== "boolean") this.fail(path, "Must be true or false.");
  }

  iri(value: unknown, path: string) {
    if (!isIri(value)) this.fail(path, "Must be an absolute IRI.");
  }

  uuid(value: unknown, path: string) {
    if (!isUuid(value)) this.fail(path, "Must be a UUID.");
  }

  languageMap(value: unknown, path: string) {
    if (!this.object(value, path)) return;
    for (const [tag, text] of Object.entries(value)) {
      if (!isLanguageTag(tag)) this.fail(join(path, tag), "Is not an RFC 5646 language tag.");
      if (typeof text !== "string") this.fail(join(path, tag), "Must be a string.");
    }
  }

  extensions(value: unknown, path: string) {
    if (!this.object(value, path)) return;
    for (const key of Object.keys(value)) {
      if (!isIri(key)) this.fail(join(path, key), "Extension keys must be absolute IRIs.");
    }
  }

  /** An Agent or a Group (actor, instructor, authority, member objects). */
  actor(value: unknown, path: string, options: { memberOnly?: boolean } = {}) {
    if (!this.object(value, path)) return;
    const type = value.objectType;
    if (type !== undefined && type !== "Agent" && type !== "Group") {
      this.fail(join(path, "objectType"), "Must be `Agent` or `Group`.");
      return;
    }
    if (type === "Group") {
      if (options.memberOnly) {
        this.fail(path, "A Group's members must be Agents, not Groups.");
        return;
      }
      this.group(value, path);
    } else this.agent(value, path);
  }

  agent(value: Json, path: string) {
    this.keys(value, path, ["objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"]);
    if (value.name !== undefined) this.string(value.name, join(path, "name"));
    const count = this.ifi(value, path);
    if (count !== 1) this.fail(path, "An Agent must have exactly one of mbox, mbox_sha1sum, openid, account.");
  }

  group(value: Json, path: string) {
    this.keys(value, path, ["objectType", "name", "mbox", "mbox_sha1sum", "openid", "account", "member"]);
    if (value.name !== undefined) this.string(value.name, join(path, "name"));
    const count = this.ifi(value, path);
    if (count > 1) this.fail(path, "An identified Group has exactly one Inverse Functional Identifier.");
    if (value.member !== undefined) {
      if (!Array.isArray(value.member)) this.fail(join(path, "member"), "Must be an array of Agents.");
      else for (const [i, m] of value.member.entries()) this.actor(m, join(path, `member.${i}`), { memberOnly: true });
    }
    if (count === 0 && (!Array.isArray(value.member) || value.member.length === 0)) {
      this.fail(join(path, "member"), "An anonymous Group must list its members.");
    }
  }

  /** Checks each Inverse Functional Identifier present; returns how many there are. */
  ifi(value: Json, path: string): number {
    let count = 0;
    if (value.mbox !== undefined) {
      count++;
      if (typeof value.mbox !== "string" || !MBOX.test(value.mbox))
        this.fail(join(path, "mbox"), "Must be a `mailto:` IRI with an email address.");
    }
    if (value.mbox_sha1sum !== undefined) {
      count++;
      if (typeof value.mbox_sha1sum !== "string" || !SHA1.test(value.mbox_sha1sum))
        this.fail(join(path, "mbox_sha1sum"), "Must be the hex SHA-1 of a mailto IRI.");
    }
    if (value.openid !== undefined) {
      count++;
      this.iri(value.openid, join(path, "openid"));
    }
    if (value.account !== undefined) {
      count++;
      const p = join(path, "account");
      if (this.object(value.account, p)) {
        this.keys(value.account, p, ["homePage", "name"]);
        this.iri(value.account.homePage, join(p, "homePage"));
        this.string(value.account.name, join(p, "name"));
      }
    }
    return count;
  }

  verb(value: unknown, path: string) {
    if (!this.object(value, path)) return;
    this.keys(value, path, ["id", "display"]);
    this.iri(value.id, join(path, "id"));
    if (value.display !== undefined) this.languageMap(value.display, join(path, "display"));
  }

  activity(value: Json, path: string) {
    this.keys(value, path, ["objectType", "id", "definition"]);
    this.iri(value.id, join(path, "id"));
    if (value.definition !== undefined) this.definition(value.definition, join(path, "definition"));
  }

  definition(value: unknown, path: string) {
    if (!this.object(value, path)) return;
    if (Object.keys(value).length === 0) this.fail(path, "An Activity Definition has at least one property.");
    this.keys(value, path, [
      "name",
      "description",
      "type",
      "moreInfo",
      "extensions",
      "interactionType",
      "correctResponsesPattern",
      ...COMPONENT_LISTS,
    ]);
    if (value.name !== undefined) this.languageMap(value.name, join(path, "name"));
    if (value.description !== undefined) this.languageMap(value.description, join(path, "description"));
    if (value.type !== undefined) this.iri(value.type, join(path, "type"));
    if (value.moreInfo !== undefined) this.iri(value.moreInfo, join(path, "moreInfo"));
    if (value.extensions !== undefined) this.extensions(value.extensions, join(path, "extensions"));
    const interaction = value.interactionType;
    if (interaction !== undefined && (typeof interaction !== "string" || !INTERACTION_TYPES.has(interaction))) {
      this.fail(join(path, "interactionType"), `Must be one of ${[...INTERACTION_TYPES].join(", ")}.`);
    }
    if (value.correctResponsesPattern !== undefined) {
      const p = join(path, "correctResponsesPattern");
      if (interaction === undefined) this.fail(p, "A correctResponsesPattern needs an interactionType.");
      if (!Array.isArray(value.correctResponsesPattern)) this.fail(p, "Must be an array of strings.");
      else for (const [i, r] of value.correctResponsesPattern.entries()) this.string(r, join(p, String(i)));
    }
    for (const list of COMPONENT_LISTS) {
      const components = value[list];
      if (components === undefined) continue;
      const p = join(path, list);
      if (interaction === undefined) this.fail(p, "Interaction components need an interactionType.");
      if (!Array.isArray(components)) {
        this.fail(p, "Must be an array of interaction components.");
        continue;
      }
      const ids = new Set<string>();
      components.forEach((component, i) => {
        const cp = join(p, String(i));
        if (!this.object(component, cp)) return;
        this.keys(component, cp, ["id", "description"]);
        if (this.string(component.id, join(cp, "id"))) {
          if (ids.has(component.id)) this.fail(join(cp, "id"), "Interaction component ids must be unique.");
          ids.add(component.id);
        }
        if (component.description !== undefined) this.languageMap(component.description, join(cp, "description"));
      });
    }
  }

  object_(value: unknown, path: string, inSubStatement: boolean) {
    if (!this.object(value, path)) return;
    const type = value.objectType ?? "Activity";
    switch (type) {
      case "Activity":
        this.activity(value, path);
        break;
      case "Agent":
      case "Group":
        this.actor(value, path);
        break;
      case "StatementRef":
        this.keys(value, path, ["objectType", "id"]);
        this.uuid(value.id, join(path, "id"));
        break;
      case "SubStatement":
        if (inSubStatement) this.fail(join(path, "objectType"), "A SubStatement cannot contain a SubStatement.");
        else this.statement(value, path, true);
        break;
      default:
        this.fail(join(path, "objectType"), "Must be Activity, Agent, Group, StatementRef or SubStatement.");
    }
  }

  result(value: unknown, path: string) {
    if (!this.object(value, path)) return;
    this.keys(value, path, ["score", "success", "completion", "response", "duration", "extensions"]);
    if (value.score !== undefined) {
      const p = join(path, "score");
      if (this.object(value.score, p)) {
        const score = value.score;
        this.keys(score, p, ["scaled", "raw", "min", "max"]);
        for (const key of ["scaled", "raw", "min", "max"]) {
          if (score[key] !== undefined && (typeof score[key] !== "number" || !Number.isFinite(score[key])))
            this.fail(join(p, key), "Must be a number.");
        }
        const n = (k: string) => (typeof score[k] === "number" ? (score[k] as number) : undefined);
        const [scaled, raw, min, max] = [n("scaled"), n("raw"), n("min"), n("max")];
        if (scaled !== undefined && (scaled < -1 || scaled > 1)) this.fail(join(p, "scaled"), "Must be from -1 to 1.");
        if (min !== undefined && max !== undefined && min >= max) this.fail(join(p, "min"), "Must be less than max.");
        if (raw !== undefined && min !== undefined && raw < min) this.fail(join(p, "raw"), "Must not be below min.");
        if (raw !== undefined && max !== undefined && raw > max) this.fail(join(p, "raw"), "Must not be above max.");
      }
    }
    if (value.success !== undefined) this.boolean(value.success, join(path, "success"));
    if (value.completion !== undefined) this.boolean(value.completion, join(path, "completion"));
    if (value.response !== undefined) this.string(value.response, join(path, "response"));
    if (value.duration !== undefined && (typeof value.duration !== "string" || !DURATION.test(value.duration)))
      this.fail(join(path, "duration"), "Must be an ISO 8601 duration.");
    if (value.extensions !== undefined) this.extensions(value.extensions, join(path, "extensions"));
  }

  context(value: unknown, path: string, object: Json | undefined) {
    if (!this.object(value, path)) return;
    this.keys(value, path, [
      "registration",
      "instructor",
      "team",
      "contextActivities",
      "revision",
      "platform",
      "language",
      "statement",
      "extensions",
      ...(this.v2 ? ["contextAgents", "contextGroups"] : []),
    ]);
    if (value.registration !== undefined) this.uuid(value.registration, join(path, "registration"));
    for (const [key, type, field] of [
      ["contextAgents", "contextAgent", "agent"],
      ["contextGroups", "contextGroup", "group"],
    ] as const) {
      if (value[key] === undefined) continue;
      const p = join(path, key);
      const list = value[key];
      if (!Array.isArray(list)) {
        this.fail(p, `Must be an array of ${type} objects.`);
        continue;
      }
      for (const [i, item] of list.entries()) {
        const ip = join(p, String(i));
        if (!this.object(item, ip)) continue;
        this.keys(item, ip, ["objectType", field, "relevantTypes"]);
        if (item.objectType !== type) this.fail(join(ip, "objectType"), `Must be \`${type}\`.`);
        if (field === "agent") {
          if (this.object(item.agent, join(ip, "agent"))) {
            if (item.agent.objectType !== undefined && item.agent.objectType !== "Agent")
              this.fail(join(ip, "agent.objectType"), "Must be `Agent`.");
            else this.agent(item.agent, join(ip, "agent"));
          }
        } else if (this.object(item.group, join(ip, "group"))) {
          if (item.group.objectType !== "Group") this.fail(join(ip, "group.objectType"), "Must be `Group`.");
          else this.group(item.group, join(ip, "group"));
        }
        if (item.relevantTypes !== undefined) {
          if (!Array.isArray(item.relevantTypes) || item.relevantTypes.length === 0)
            this.fail(join(ip, "relevantTypes"), "Must be a non-empty array of IRIs.");
          else for (const [j, t] of item.relevantTypes.entries()) this.iri(t, join(ip, `relevantTypes.${j}`));
        }
      }
    }
    if (value.instructor !== undefined) this.actor(value.instructor, join(path, "instructor"));
    if (value.team !== undefined) {
      const p = join(path, "team");
      if (this.object(value.team, p)) {
        if (value.team.objectType !== "Group") this.fail(join(p, "objectType"), "The team must be a Group.");
        else this.group(value.team, p);
      }
    }
    const isActivity = object !== undefined && (object.objectType ?? "Activity") === "Activity";
    for (const key of ["revision", "platform"]) {
      if (value[key] === undefined) continue;
      this.string(value[key], join(path, key));
      if (!isActivity) this.fail(join(path, key), `\`${key}\` is only allowed when the object is an Activity.`);
    }
    if (value.language !== undefined && (typeof value.language !== "string" || !isLanguageTag(value.language)))
      this.fail(join(path, "language"), "Must be an RFC 5646 language tag.");
    if (value.statement !== undefined) {
      const p = join(path, "statement");
      if (this.object(value.statement, p)) {
        this.keys(value.statement, p, ["objectType", "id"]);
        if (value.statement.objectType !== "StatementRef") this.fail(join(p, "objectType"), "Must be `StatementRef`.");
        this.uuid(value.statement.id, join(p, "id"));
      }
    }
    if (value.extensions !== undefined) this.extensions(value.extensions, join(path, "extensions"));
    if (value.contextActivities !== undefined) {
      const p = join(path, "contextActivities");
      if (this.object(value.contextActivities, p)) {
        this.keys(value.contextActivities, p, ["parent", "grouping", "category", "other"]);
        if (Object.keys(value.contextActivities).length === 0)
          this.fail(p, "Needs at least one of parent, grouping, category or other.");
        for (const [key, list] of Object.entries(value.contextActivities)) {
          const items = Array.isArray(list) ? list : [list];
          items.forEach((item, i) => {
            const ip = Array.isArray(list) ? join(join(p, key), String(i)) : join(p, key);
            if (!this.object(item, ip)) return;
            if (item.objectType !== undefined && item.objectType !== "Activity")
              this.fail(join(ip, "objectType"), "Context activities must be Activities.");
            else this.activity(item, ip);
          });
        }
      }
    }
  }

  attachments(value: unknown, path: string) {
    if (!Array.isArray(value)) {
      this.fail(path, "Must be an array of attachments.");
      return;
    }
    value.forEach((attachment, i) => {
      const p = join(path, String(i));
      if (!this.object(attachment, p)) return;
      this.keys(attachment, p, ["usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"]);
      this.iri(attachment.usageType, join(p, "usageType"));
      this.languageMap(attachment.display, join(p, "display"));
      if (attachment.description !== undefined) this.languageMap(attachment.description, join(p, "description"));
      if (typeof attachment.contentType !== "string" || !MEDIA_TYPE.test(attachment.contentType))
        this.fail(join(p, "contentType"), "Must be an Internet media type.");
      if (!Number.isInteger(attachment.length) || (attachment.length as number) < 0)
        this.fail(join(p, "length"), "Must be a non-negative integer.");
      if (typeof attachment.sha2 !== "string" || !SHA2.test(attachment.sha2))
        this.fail(join(p, "sha2"), "Must be the hex SHA-2 of the attachment.");
      if (attachment.fileUrl !== undefined) this.iri(attachment.fileUrl, join(p, "fileUrl"));
    });
  }

  statement(value: Json, path: string, sub = false) {
    const allowed = sub
      ? ["objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"]
      : [
          "id",
          "actor",
          "verb",
          "object",
          "result",
          "context",
          "timestamp",
          "stored",
          "authority",
          "version",
          "attachments",
        ];
    this.keys(value, path, allowed);
    if (!sub && value.id !== undefined) this.uuid(value.id, join(path, "id"));
    if (value.actor === undefined) this.fail(join(path, "actor"), "Is required.");
    else this.actor(value.actor, join(path, "actor"));
    if (value.verb === undefined) this.fail(join(path, "verb"), "Is required.");
    else this.verb(value.verb, join(path, "verb"));
    if (value.object === undefined) this.fail(join(path, "object"), "Is required.");
    else this.object_(value.object, join(path, "object"), sub);
    if (value.result !== undefined) this.result(value.result, join(path, "result"));
    if (value.context !== undefined)
      this.context(value.context, join(path, "context"), isJson(value.object) ? value.object : undefined);
    if (value.timestamp !== undefined && !isTimestamp(value.timestamp))
      this.fail(join(path, "timestamp"), "Must be an ISO 8601 timestamp.");
    if (value.stored !== undefined && !isTimestamp(value.stored))
      this.fail(join(path, "stored"), "Must be an ISO 8601 timestamp.");
    if (value.authority !== undefined) {
      this.actor(value.authority, join(path, "authority"));
      const authority = value.authority as Json;
      if (isJson(authority) && authority.objectType === "Group" && Array.isArray(authority.member)) {
        if (authority.member.length !== 2)
          this.fail(join(path, "authority.member"), "An authority Group has exactly two Agents (OAuth).");
      }
      // An authority Group is the anonymous pair of an OAuth consumer and user, never an identified Group.
      if (isJson(authority) && authority.objectType === "Group" && actorKey(authority) !== null)
        this.fail(join(path, "authority"), "An authority Group is anonymous (an OAuth consumer and user).");
    }
    if (value.version !== undefined && (typeof value.version !== "string" || !VERSION.test(value.version)))
      this.fail(join(path, "version"), "Must be an xAPI version 1.0.x (or 2.0.x).");
    if (value.attachments !== undefined) this.attachments(value.attachments, join(path, "attachments"));
    if (!sub && isJson(value.verb) && value.verb.id === VOIDED_VERB) {
      const object = value.object;
      if (!isJson(object) || object.objectType !== "StatementRef")
        this.fail(join(path, "object"), "A voiding statement's object must be a StatementRef.");
    }
  }
}

function join(path: string, key: string) {
  return path ? `${path}.${key}` : key;
}

export function isJson(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The problems of one statement (empty when valid). `path` prefixes each error (`0.actor.mbox`). */
export function validateStatement(statement: unknown, path = "", v2 = false): FieldError[] {
  const checker = new Checker(v2);
  if (checker.object(statement, path)) checker.statement(statement, path);
  return checker.errors;
}

/** Validates an Agent / Group passed as a query parameter (`agent=`), returning its problems. */
export function validateActor(actor: unknown, path: string): FieldError[] {
  const checker = new Checker();
  checker.actor(actor, path);
  return checker.errors;
}

/** An agent or identified group's identity for matching: objectType and its one IFI. */
export function actorKey(actor: unknown): string | null {
  if (!isJson(actor)) return null;
  const type = actor.objectType === "Group" ? "Group" : "Agent";
  if (typeof actor.mbox === "string") return `${type}|mbox|${actor.mbox.toLowerCase()}`;
  if (typeof actor.mbox_sha1sum === "string") return `${type}|mbox_sha1sum|${actor.mbox_sha1sum.toLowerCase()}`;
  if (typeof actor.openid === "string") return `${type}|openid|${actor.openid}`;
  if (isJson(actor.account)) return `${type}|account|${actor.account.homePage}|${actor.account.name}`;
  return null;
}

/** Keys of an actor and, for groups, of its members (related_agents matches members too). */
function actorKeys(actor: unknown, withMembers: boolean): string[] {
  const keys: string[] = [];
  const own = actorKey(actor);
  if (own) keys.push(own);
  if (withMembers && isJson(actor) && Array.isArray(actor.member)) {
    for (const m of actor.member) {
      const k = actorKey(m);
      if (k) keys.push(k);
    }
  }
  return keys;
}

function contextActivityIds(context: unknown): string[] {
  if (!isJson(context) || !isJson(context.contextActivities)) return [];
  return Object.values(context.contextActivities).flatMap((list) =>
    (Array.isArray(list) ? list : [list]).flatMap((a) => (isJson(a) && typeof a.id === "string" ? [a.id] : [])),
  );
}

export type TermKind = "agent" | "related_agent" | "activity" | "related_activity" | "verb" | "registration";

/** The filter terms of a valid statement (see xapi_statement_terms). */
export function statementTerms(statement: Json): [TermKind, string][] {
  const terms = new Set<string>();
  const add = (kind: TermKind, value: string) => terms.add(`${kind}\u0000${value}`);
  const object = statement.object as Json;
  const objectType = object.objectType ?? "Activity";
  for (const k of actorKeys(statement.actor, false)) add("agent", k);
  if (objectType === "Agent" || objectType === "Group") for (const k of actorKeys(object, false)) add("agent", k);
  const related = (s: Json) => {
    const o = s.object as Json;
    const ctx = isJson(s.context) ? s.context : {};
    const contextActors = [
      ...(Array.isArray(ctx.contextAgents) ? ctx.contextAgents.map((c) => (isJson(c) ? c.agent : undefined)) : []),
      ...(Array.isArray(ctx.contextGroups) ? ctx.contextGroups.map((c) => (isJson(c) ? c.group : undefined)) : []),
    ];
    for (const a of [s.actor, ctx.instructor, ctx.team, s.authority, ...contextActors])
      for (const k of actorKeys(a, true)) add("related_agent", k);
    const type = o.objectType ?? "Activity";
    if (type === "Agent" || type === "Group") for (const k of actorKeys(o, true)) add("related_agent", k);
    if (type === "Activity") add("related_activity", o.id as string);
    for (const id of contextActivityIds(ctx)) add("related_activity", id);
    if (type === "SubStatement") related(o);
  };
  related(statement);
  if (objectType === "Activity") add("activity", object.id as string);
  add("verb", (statement.verb as Json).id as string);
  const context = statement.context;
  if (isJson(context) && typeof context.registration === "string")
    add("registration", context.registration.toLowerCase());
  return [...terms].map((t) => t.split("\u0000") as [TermKind, string]);
}
