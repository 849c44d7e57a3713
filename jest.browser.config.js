/**
 * npm run test:browser: the cards in the official Adaptive Cards renderer in headless Chromium
 * (Debian's /usr/bin/chromium, or CHROMIUM_PATH), driven like a person against the real bot.
 * UPDATE_SCREENSHOTS=1 writes the pictures to docs/images/.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test/browser"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
  moduleNameMapper: { "^adaptivecards$": "adaptivecards/dist/adaptivecards.js" },
  // One browser at a time on a 2-core machine.
  maxWorkers: 1,
  testTimeout: 60000,
};
