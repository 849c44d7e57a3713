/**
 * Generates src/incidents/attack-techniques.json: the MITRE ATT&CK Enterprise techniques (id, name,
 * tactics) the form offers and the server checks technique ids against. Never fetched at run time.
 *
 *   git clone --depth 1 https://github.com/mitre/cti && npx tsx scripts/attack-techniques.ts cti "18.1"
 *
 * Reads every STIX attack-pattern in <cti>/enterprise-attack/attack-pattern, keeps those neither
 * revoked nor deprecated, and writes them sorted by id. ATT&CK is (c) The MITRE Corporation, used under
 * its terms of use (royalty-free, with attribution): https://attack.mitre.org/resources/legal-and-branding/terms-of-use/
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface StixPattern {
  type: string;
  name: string;
  revoked?: boolean;
  x_mitre_deprecated?: boolean;
  external_references?: { source_name: string; external_id?: string }[];
  kill_chain_phases?: { kill_chain_name: string; phase_name: string }[];
}

const [cti, version] = process.argv.slice(2);
if (!cti || !version) {
  console.error("usage: tsx scripts/attack-techniques.ts <mitre/cti checkout> <ATT&CK version, e.g. 18.1>");
  process.exit(2);
}
const dir = join(cti, "enterprise-attack", "attack-pattern");
const techniques: [string, string, string[]][] = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
  const bundle = JSON.parse(readFileSync(join(dir, file), "utf8")) as { objects: StixPattern[] };
  for (const o of bundle.objects) {
    if (o.type !== "attack-pattern" || o.revoked || o.x_mitre_deprecated) continue;
    const id = o.external_references?.find((r) => r.source_name === "mitre-attack")?.external_id;
    if (!id || !/^T\d{4}(\.\d{3})?$/.test(id)) continue;
    const tactics = (o.kill_chain_phases ?? []).filter((p) => p.kill_chain_name === "mitre-attack").map((p) => p.phase_name);
    techniques.push([id, o.name.trim(), tactics]);
  }
}
techniques.sort((a, b) => a[0].localeCompare(b[0]));
const out = {
  source: "MITRE ATT&CK Enterprise, STIX 2.1 (https://github.com/mitre/cti, enterprise-attack/attack-pattern)",
  version,
  terms: "© The MITRE Corporation. Reproduced under the ATT&CK terms of use: https://attack.mitre.org/resources/legal-and-branding/terms-of-use/",
  techniques,
};
writeFileSync(join(__dirname, "..", "src", "incidents", "attack-techniques.json"), JSON.stringify(out) + "\n");
console.log(`${techniques.length} techniques (ATT&CK ${version})`);
