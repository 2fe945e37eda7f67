/**
 * The version sockbox reports (`sockbox --version`, beacon announcements). It must equal
 * `version` in deno.json; `version_test.ts` beside this file keeps the two in step.
 *
 * @module
 */

/** The sockbox version, as in deno.json. */
export const VERSION = "0.1.0";
