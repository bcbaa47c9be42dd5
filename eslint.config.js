import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/", "build/", "node_modules/", "out/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Budgets that keep a file and a function readable at once (blank lines and comments do not count).
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.mjs", "scripts/**/*.mjs"],
    rules: {
      "max-lines": ["error", { max: 400, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    // A test file's describe() block holds its cases; the function budget applies to the code it calls.
    files: ["test/**/*.ts"],
    rules: { "max-lines-per-function": "off" },
  },
);
