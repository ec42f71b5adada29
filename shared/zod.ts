import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

/**
 * Schemas use zod's functional API (`import * as z from 'zod/mini'`): the same validation core as
 * the chained API, with a fraction of its code to load at every cold start. It ships without error
 * messages, so this module installs the English ones the chained API uses by default; every module
 * that defines or parses schemas imports it (for `int`, or for this effect alone) so the messages
 * are in place before anything parses.
 */
z.config(en());

/** An integer: the chained API's `z.number().int()`. */
export const int = () => z.number().check(z.int());
