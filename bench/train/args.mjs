// The command line of bench/train/run.mjs (its header lists the options).

export function parseArgs(argv, SETUPS, COMBINATIONS) {
  const options = {
    model: "34m",
    steps: undefined,
    warmup: undefined,
    threads: undefined,
    only: undefined,
    torch: true,
    keep: false,
  };
  const number = (flag, value, min) => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min)
      throw new Error(`${flag} needs an integer ≥ ${min}, got ${value ?? "nothing"}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--quick") options.model = "quick";
    else if (flag === "--model") {
      options.model = String(value());
      if (!(options.model in SETUPS))
        throw new Error(`--model takes one of ${Object.keys(SETUPS).join(", ")}; got "${options.model}"`);
    } else if (flag === "--steps") options.steps = number(flag, value(), 1);
    else if (flag === "--warmup") options.warmup = number(flag, value(), 0);
    else if (flag === "--threads") options.threads = number(flag, value(), 1);
    else if (flag === "--layers") options.layers = number(flag, value(), 1);
    else if (flag === "--no-torch") options.torch = false;
    else if (flag === "--keep") options.keep = true;
    else if (flag === "--only") {
      options.only = String(value() ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = options.only.filter((name) => !COMBINATIONS.includes(name));
      if (unknown.length > 0 || options.only.length === 0)
        throw new Error(
          `--only takes a comma-separated list of ${COMBINATIONS.join(", ")}; got "${unknown.join(",")}"`,
        );
    } else
      throw new Error(
        `unknown option ${arg}; options: --model ${Object.keys(SETUPS).join("|")}, --layers N, --quick, --steps N, --warmup N, --threads N, --only ${COMBINATIONS.join(",")}, --no-torch, --keep`,
      );
  }
  return options;
}
