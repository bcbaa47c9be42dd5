/** YAML text that reads back the same in PyYAML. */
import { stringify } from "yaml";

/**
 * Both engines read YAML with PyYAML, whose YAML 1.1 rules read `no`/`on` as booleans and a float
 * only with a dot and a signed exponent (`1.0e-7`, not `1e-7`): strings are quoted by the 1.1
 * schema, and exponent floats are written in that form.
 */
const PYYAML_EXP_FLOAT = {
  tag: "tag:yaml.org,2002:float",
  default: true,
  identify: (value: unknown) => typeof value === "number" && Number.isFinite(value) && String(value).includes("e"),
  test: /^[-+]?[0-9]+\.[0-9]+e[-+][0-9]+$/,
  resolve: (text: string) => Number.parseFloat(text),
  stringify: ({ value }: { value: unknown }) => {
    const [mantissa, exponent] = (value as number).toExponential().split("e");
    return `${mantissa!.includes(".") ? mantissa : `${mantissa}.0`}e${exponent}`;
  },
};

/** A YAML document with a comment line on top. */
export function yamlText(comment: string, value: Record<string, unknown>): string {
  return `# ${comment}\n${stringify(value, { version: "1.1", customTags: (tags) => [PYYAML_EXP_FLOAT, ...tags], lineWidth: 0 })}`;
}
