import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: keep parallelism modest so timing-sensitive tests (servers, kills) stay stable.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
