/**
 * SCORM 2004 navigation between the SCOs of a package, as the LMS's sequencer does it for the SCO's
 * `adl.nav.request` (SCORM 2004 4th ed. Sequencing and Navigation, the navigation request process and the flow,
 * choice and jump sequencing requests), over the launchable items of the default organization in their order.
 *
 * What is honoured: the order of the items (flow), each item's parent `imsss:controlMode` (flow, choice,
 * forwardOnly) and `isvisible` (reported to the player for its table of contents). What is not: sequencing rules
 * (pre/post/exit conditions), limit conditions, rollup rules, objective maps and shared global objectives,
 * randomization, and controlMode from a `sequencingCollection` (IDRef). The module's result is the roll-up of the
 * counted SCOs' statuses (runtime.ts), not IMS SS rollup.
 */
import type { PackageStructure } from "./tables";

type Sco = NonNullable<PackageStructure["scos"]>[number];

export const NAV_KINDS = [
  "continue",
  "previous",
  "choice",
  "jump",
  "exit",
  "exitAll",
  "abandon",
  "abandonAll",
  "suspendAll",
  "_none_",
] as const;
export type NavKind = (typeof NAV_KINDS)[number];

export interface NavRequest {
  kind: NavKind;
  /** choice / jump: the item identifier */
  target: string | null;
  /** as the SCO wrote it (what is stored) */
  raw: string;
}

/** SCORM 2004 RTE error 406 (data model element type mismatch): what SetValue answers for a malformed request. */
export const NAV_TYPE_MISMATCH = 406;

const TARGETED = /^\{target=([^{}\s]+)\}(choice|jump)$/;

/** `continue`, `{target=SCO2}choice`, ...; null when it is not a navigation request of the SCORM 2004 vocabulary. */
export function parseNavRequest(value: string): NavRequest | null {
  const raw = value.trim();
  const targeted = TARGETED.exec(raw);
  if (targeted) return { kind: targeted[2] as NavKind, target: targeted[1], raw };
  if ((NAV_KINDS as readonly string[]).includes(raw) && raw !== "choice" && raw !== "jump") {
    return { kind: raw as NavKind, target: null, raw };
  }
  return null;
}

/**
 * Where the request leads from the SCO `from`:
 * - `deliver`: play `sco` next (continue, previous, choice, jump);
 * - `end_attempt`: exitAll / abandonAll: the attempt on the whole package ends; the next launch starts a new one
 *   at the first item (every SCO ab-initio);
 * - `suspend`: suspendAll: the next launch resumes this SCO (entry = resume);
 * - `end`: the sequencing session ends without anything to deliver (exit, abandon, continue past the last item);
 *   the next launch plays where the learner was (the first SCO not finished);
 * - `none`: `_none_`, or a request the sequencer does not accept (`valid: false`, `reason`): it is ignored, as
 *   the navigation request process answers "not valid" and nothing is delivered.
 */
export interface NavOutcome {
  request: string;
  target: string | null;
  valid: boolean;
  action: "deliver" | "end_attempt" | "suspend" | "end" | "none";
  sco: Sco | null;
  reason: string | null;
}

/** Structures imported before control modes were read: navigation as if flow and choice were allowed. */
const LEGACY_CONTROLS = { flow: true, choice: true, forward_only: false };
const controls = (s: Sco) => s.parent_controls ?? LEGACY_CONTROLS;

export function resolveNavigation(scos: Sco[], from: string, request: NavRequest): NavOutcome {
  const at = scos.findIndex((s) => s.identifier === from);
  const out = (action: NavOutcome["action"], sco: Sco | null = null, reason: string | null = null): NavOutcome => ({
    request: request.raw,
    target: request.target,
    valid: reason === null,
    action: reason === null ? action : "none",
    sco,
    reason,
  });
  const current = scos[at];
  switch (request.kind) {
    case "_none_":
      return out("none");
    case "exitAll":
    case "abandonAll":
      return out("end_attempt");
    case "suspendAll":
      return out("suspend", current ?? null);
    case "exit":
    case "abandon":
      return out("end");
    case "continue": {
      if (!current) return out("none", null, `The item "${from}" is no longer in the package.`);
      if (!controls(current).flow)
        return out("none", null, 'Flow navigation (continue) is disabled here (imsss:controlMode flow="false").');
      const next = scos[at + 1];
      if (!next) return out("end");
      if (!controls(next).flow)
        return out("none", null, `Flow navigation into "${next.identifier}" is disabled (its parent's flow="false").`);
      return out("deliver", next);
    }
    case "previous": {
      if (!current) return out("none", null, `The item "${from}" is no longer in the package.`);
      if (!controls(current).flow || controls(current).forward_only)
        return out(
          "none",
          null,
          'Backward navigation (previous) is disabled here (flow="false" or forwardOnly="true").',
        );
      const prev = scos[at - 1];
      if (!prev) return out("none", null, "There is no item before the first one.");
      if (!controls(prev).flow || controls(prev).forward_only)
        return out("none", null, `Backward navigation into "${prev.identifier}" is disabled.`);
      return out("deliver", prev);
    }
    case "choice":
    case "jump": {
      const target = scos.find((s) => s.identifier === request.target);
      if (!target) return out("none", null, `The package has no launchable item "${request.target}".`);
      if (request.kind === "choice" && !controls(target).choice)
        return out("none", null, `Choosing "${target.identifier}" is disabled (its parent's choice="false").`);
      return out("deliver", target);
    }
  }
}

/**
 * `adl.nav.request_valid` for a delivered SCO (the look-ahead the SCO's Next / Previous buttons read): continue
 * when flow allows it (past the last item it ends the session), previous when an earlier item can be reached,
 * and the items a choice request may target (scorm-again's `scoItemIds`).
 */
export function requestValid(scos: Sco[], identifier: string) {
  const validity = (kind: "continue" | "previous"): "true" | "false" =>
    resolveNavigation(scos, identifier, { kind, target: null, raw: kind }).valid ? "true" : "false";
  return {
    continue: validity("continue"),
    previous: validity("previous"),
    choice: scos.filter((s) => controls(s).choice).map((s) => s.identifier),
  };
}
