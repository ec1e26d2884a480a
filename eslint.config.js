// @ts-check
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["node_modules/", "dist/", "artifacts/", "cache/", "coverage/", "typechain-types/", "bench/.tmp/", "ignition/deployments/", "**/*.cts", "src/chain/contracts.ts"]
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: { console: "readonly", process: "readonly" }
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-assertions": ["error", { assertionStyle: "as", objectLiteralTypeAssertions: "never" }],
      "@typescript-eslint/no-non-null-assertion": "error",
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Read configuration through Effect Config." }]
    }
  },
  {
    // the watch page: plain ES modules run by the browser
    files: ["web/**/*.js"],
    languageOptions: {
      globals: Object.fromEntries(
        ["window", "document", "fetch", "setInterval", "clearInterval", "setTimeout", "TextEncoder", "TextDecoderStream", "AbortController", "URLSearchParams", "Option"].map((name) => [name, "readonly"])
      )
    }
  },
  {
    files: ["scripts/**", "bench/**", "test/**", "ignition/**"],
    rules: { "no-restricted-properties": "off" }
  }
)
