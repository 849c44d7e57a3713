/**
 * Jest for mutation testing (npm run test:mutation): the fast unit tests, plus the Sentinel mirror's
 * adapter-level test (the SentinelMirror class against the real SQLite store and the test Sentinel
 * server, about 4 s in all), which the unit tests do not reach. Stryker runs only the tests that cover
 * a mutant, so they must stay quick; the other store, HTTP, browser and crash tests are left out.
 * @type {import('jest').Config}
 */
const base = require("./jest.config.js");

module.exports = {
  ...base,
  roots: ["<rootDir>/test/unit", "<rootDir>/test/adapters"],
  testMatch: ["<rootDir>/test/unit/**/*.test.ts", "<rootDir>/test/adapters/sentinel-mirror.test.ts"],
  testPathIgnorePatterns: [],
};
