/**
 * How a function is bundled for Lambda: the CDK construct and the bundle benchmark share these
 * settings, so what is measured is what is deployed.
 */
export const BUNDLE = {
  format: 'esm',
  mainFields: ['module', 'main'],
  /** CommonJS dependencies bundled into ESM still call `require` for Node built-ins. */
  banner:
    "import { createRequire as __siyuCreateRequire } from 'node:module'; const require = __siyuCreateRequire(import.meta.url);",
  minify: true,
} as const;
