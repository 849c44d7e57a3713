/**
 * Jest for mutation testing (npm run test:mutation): the fast unit tests only. Stryker runs these
 * once per mutant, so they must stay quick; the store, HTTP, browser and crash tests are left out.
 * @type {import('jest').Config}
 */
const base = require("./jest.config.js");

module.exports = {
  ...base,
  roots: ["<rootDir>/test/unit"],
  testPathIgnorePatterns: [],
};
