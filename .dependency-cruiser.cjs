/**
 * The architecture as rules (see docs/architecture.md). Layers, top to bottom; a room imports only
 * from rooms below it, and from another room only through that room's index.ts.
 */
const LAYERS = [["cli"], ["report"], ["demo"], ["train", "eval"], ["negatives"], ["data"], ["llm"], ["engine", "io"]];
// errors.ts and version.ts (src/ root files) sit below every room.

const area = (name) => `^src/${name}/`;
const layerRules = LAYERS.flatMap((rooms, level) => {
  const above = LAYERS.slice(0, level + 1).flat();
  return rooms.map((room) => ({
    name: `layer-${room}`,
    comment: `${room} may import only from rooms below it`,
    severity: "error",
    from: { path: area(room) },
    to: { path: `^src/(${above.filter((r) => r !== room).join("|")})/` },
  }));
});

module.exports = {
  forbidden: [
    { name: "no-cycles", severity: "error", from: {}, to: { circular: true } },
    ...layerRules,
    {
      name: "rooms-below-root-files",
      comment: "errors.ts and version.ts are the bottom: they import no room",
      severity: "error",
      from: { path: "^src/[^/]+\\.ts$", pathNot: "^src/index\\.ts$" },
      to: { path: "^src/[^/]+/" },
    },
    {
      name: "through-the-index",
      comment: "another room is reached through its index.ts, its public surface",
      severity: "error",
      from: { path: "^src/([^/]+)/" },
      to: { path: "^src/[^/]+/", pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$"] },
    },
    {
      name: "no-test-code-in-the-package",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
  },
};
