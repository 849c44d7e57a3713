/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/test/browser/"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
  moduleNameMapper: { "^adaptivecards$": "adaptivecards/dist/adaptivecards.js" },
  testTimeout: 30000,
};
