// Validates custom resources offline against their CRD schemas, using the
// @kubernetes-models packages pinned in package.json.
// Usage: node validate-custom-resources.mjs objects.json
// objects.json: [{"source": "...", "object": {...}}, ...]. Prints one line per
// invalid object and exits 1 if any; exits 2 for a kind no package knows.
import { readFileSync } from "node:fs";

const packageFor = (group) => {
  if (group === "argoproj.io") return "@kubernetes-models/argo-cd";
  if (group.endsWith(".istio.io")) return "@kubernetes-models/istio";
  if (group === "monitoring.coreos.com") return "@kubernetes-models/prometheus-operator";
  return null;
};

const entries = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failures = 0;
for (const { source, object } of entries) {
  const [group, version] = object.apiVersion.split("/");
  const pkg = packageFor(group);
  const where = `${source}: ${object.kind}/${object.metadata?.name}`;
  if (!pkg) {
    console.log(`${where}: no schema package for group ${group}`);
    process.exitCode = 2;
    continue;
  }
  let Model;
  try {
    ({ [object.kind]: Model } = await import(`${pkg}/${group}/${version}/${object.kind}`));
  } catch (error) {
    console.log(`${where}: no schema for ${object.apiVersion} ${object.kind}`);
    process.exitCode = 2;
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    failures += 1;
    console.log(`${where}: ${error.message}`);
  }
}
if (failures) process.exitCode = 1;
console.error(`custom resources: ${entries.length} checked, ${failures} invalid`);
