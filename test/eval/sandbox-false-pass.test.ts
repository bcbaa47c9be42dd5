// Issue 12's "false passes": completions that do not solve the problem but were scored as passed.
import { beforeAll, describe, expect, it } from "vitest";
import { runEval } from "../../src/eval/run.js";
import { createSandbox, type Sandbox } from "../../src/eval/sandbox/index.js";
import { dataDir, jsonl, scriptedModel } from "./fixtures.js";
import { ADD, judge, realProblems, WRONG } from "./sandbox/attacks.js";

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await createSandbox({ cpuSeconds: 2, timeoutMs: 5_000 });
});

// Module-level code after the (wrong) function body: it runs before check() is ever called.
const EARLY_EXITS: Record<string, string> = {
  "sys.exit(0)": "import sys\nsys.exit(0)\n",
  "os._exit(0)": "import os\nos._exit(0)\n",
  "raise SystemExit": "raise SystemExit\n",
  "exit()": "exit()\n",
  "obfuscated os._exit": "getattr(__import__('o' + 's'), '_' + 'exit')(0)\n",
  "os._exit inside the call": "",
};

// Exit status 0 after the tests have failed.
const LATE_EXITS: Record<string, string> = {
  "atexit.register(os._exit, 0)": "import atexit, os\natexit.register(os._exit, 0)\n",
  "sys.excepthook": "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n",
  "__del__ at shutdown":
    "import os\nclass _Bye:\n    def __del__(self):\n        os._exit(0)\n_keep = _Bye()\n_keep.me = _keep\n",
  "non-daemon thread waiting for the main thread":
    "import os, threading\ndef _wait():\n    threading.main_thread().join()\n    os._exit(0)\nthreading.Thread(target=_wait).start()\n",
};

describe("sandbox: no pass without solving the problem", () => {
  it("passes the canonical solution and fails the wrong one (the baseline of every case below)", async () => {
    expect((await judge(sandbox, ADD, ADD.canonical_solution)).status).toBe("passed");
    expect((await judge(sandbox, ADD, WRONG)).status).toBe("failed");
  });

  it.each(Object.entries(EARLY_EXITS))("exit 0 before the tests run: %s", async (name, tail) => {
    const body = name === "os._exit inside the call" ? "    import os\n    os._exit(0)\n" : WRONG;
    const result = await judge(sandbox, ADD, body + tail);
    expect(result.status).not.toBe("passed");
  });

  it.each(Object.entries(LATE_EXITS))("exit 0 after the tests failed: %s", async (_name, tail) => {
    const result = await judge(sandbox, ADD, WRONG + tail);
    expect(result.status).not.toBe("passed");
  });

  it("the thread trick through runEval: 0 of 40 samples pass", async () => {
    const other = { ...ADD, task_id: "toy/add-2", prompt: 'def add(a, b):\n    """Add two numbers."""\n' };
    const dir = dataDir({ "humaneval/HumanEval.jsonl": jsonl([ADD, other]) });
    // All inside the body: HumanEval's stop sequences would cut a top-level `def`.
    const body =
      "    import os, threading\n    threading.Thread(target=lambda: (threading.main_thread().join(), os._exit(0))).start()\n";
    const model = scriptedModel({ generate: () => body + WRONG });
    const run = await runEval(model, { tasks: ["humaneval"], dataDir: dir, sandbox: { cpuSeconds: 2 } });
    expect(model.generateCalls).toHaveLength(40);
    expect(run.results.humaneval!.metrics["pass@1"]!.value).toBe(0);
  });

  it("a return value whose __eq__ is always true passes no real problem", async () => {
    const bodies = {
      "custom class":
        "    class _Any:\n        def __eq__(self, other): return True\n        def __ne__(self, other): return False\n    return _Any()\n",
      "str subclass": "    class _S(str):\n        def __eq__(self, other): return True\n    return _S('x')\n",
    };
    for (const body of Object.values(bodies)) {
      for (const problem of realProblems()) {
        const result = await judge(sandbox, problem, body);
        expect({ id: problem.task_id, status: result.status }).toEqual({ id: problem.task_id, status: "failed" });
      }
    }
  });

  it("reading the expected values from check()'s frame passes no real problem", async () => {
    // The caller's current source line (linecache) or, failing that, the next constant in its bytecode.
    const body = [
      "    _args = list(locals().values())",
      "    import sys, linecache, ast, dis",
      "    f = sys._getframe(1)",
      "    line = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()",
      "    try:",
      "        for node in ast.walk(ast.parse(line)):",
      "            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):",
      "                return eval(compile(ast.Expression(node.comparators[0]), 'x', 'eval'), f.f_globals, f.f_locals)",
      "    except SyntaxError:",
      "        pass",
      "    after = [i for i in dis.get_instructions(f.f_code) if i.offset > f.f_lasti and i.opname == 'LOAD_CONST']",
      "    return after[0].argval if after else None",
      "",
    ].join("\n");
    for (const problem of realProblems()) {
      const result = await judge(sandbox, problem, body);
      expect({ id: problem.task_id, status: result.status }).toEqual({ id: problem.task_id, status: "failed" });
    }
  });

  it("parsing the tests out of the program file passes no real problem (the tests are never readable)", async () => {
    const body = [
      "    _args = list(locals().values())",
      "    import ast, glob, os",
      "    for name in glob.glob('*.py') + glob.glob('/tmp/**/*.py', recursive=True):",
      "        try:",
      "            tree = ast.parse(open(name).read())",
      "        except Exception:",
      "            continue",
      "        for node in ast.walk(tree):",
      "            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call) and getattr(node.left.func, 'id', '') == 'candidate':",
      "                try:",
      "                    values = [eval(compile(ast.Expression(a), 'x', 'eval')) for a in node.left.args]",
      "                    if values == _args:",
      "                        return eval(compile(ast.Expression(node.comparators[0]), 'x', 'eval'))",
      "                except Exception:",
      "                    pass",
      "    return None",
      "",
    ].join("\n");
    for (const problem of realProblems()) {
      const result = await judge(sandbox, problem, body);
      expect({ id: problem.task_id, status: result.status }).toEqual({ id: problem.task_id, status: "failed" });
    }
  });
});
