// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import pureModules from "./scripts/pure-modules.json" with { type: "json" };

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "eslint.config.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver()] },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "suite", "before", "after", "beforeEach", "afterEach"] },
          ],
        },
      ],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "import-x/no-cycle": "error",
    },
  },
  {
    // The pure domain never talks to services, reads the clock or logs (the list: scripts/pure-modules.json; the same
    // fence is checked on the real files by test/architecture/fence.test.ts).
    files: pureModules.files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@azure/*", "pino", "pino-*", "node:*", "**/http/pipeline*", "**/http/concurrency*", "**/graph/**", "**/storage/**", "**/exchange/rest-*", "**/exchange/lookup*", "**/logging*", "**/runtime*", "**/config*"],
              message: "Pure domain code must not import clients, I/O or the logger.",
            },
          ],
        },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: "Pure domain code takes the time as an argument." },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "Pure domain code takes the time as an argument." },
        { selector: "MemberExpression[object.name='process']", message: "Pure domain code does not read the process environment." },
      ],
    },
  },
  {
    // Plain CommonJS scripts run by node: outside the TypeScript project, so no type-aware rules.
    files: ["scripts/**/*.js"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", __dirname: "readonly" } },
    // require() is how a CommonJS script loads modules (and the compiled dist/ output).
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
    },
  },
);
