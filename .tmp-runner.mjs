// src/io/runner.ts
import { execa } from "execa";

// src/core/errors.ts
var EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  exists: 4,
  conflict: 5,
  busy: 6,
  permission: 7
};
var EXIT_FOR = {
  failed: EXIT.failed,
  usage: EXIT.usage,
  "invalid-name": EXIT.usage,
  aborted: EXIT.usage,
  config: EXIT.usage,
  "not-found": EXIT.notFound,
  exists: EXIT.exists,
  conflict: EXIT.conflict,
  busy: EXIT.busy,
  permission: EXIT.permission
};

// src/io/command-error.ts
var CommandError = class extends Error {
  argv;
  exitCode;
  stderr;
  failure;
  constructor(argv, result) {
    const reason = firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.exitCode}`;
    super(`${argv.join(" ")}: ${reason}`);
    this.name = "CommandError";
    this.argv = argv;
    this.exitCode = result.exitCode;
    this.stderr = result.stderr;
    this.failure = classify(result.stderr || result.stdout);
  }
};
var firstLine = (s) => s.trim().split("\n")[0]?.trim() ?? "";
var PATTERNS = [
  ["permission", /permission denied|must be (?:superuser|root)|operation not permitted|access denied|authentication required/i],
  ["busy", /\bis busy\b|device or resource busy|pool or dataset is busy/i],
  ["has-dependents", /dependent clones|has children|has dependent/i],
  ["exists", /already exists/i],
  ["not-found", /does not exist|could not find|not found|no such (?:pool|dataset|file)|not loaded/i]
];
function classify(message) {
  return PATTERNS.find(([, re]) => re.test(message))?.[0] ?? "other";
}

// src/io/runner.ts
async function runChecked(runner, argv, opts) {
  const result = await runner.run(argv, opts);
  if (result.exitCode !== 0) throw new CommandError(argv, result);
  return result;
}
var ExecaRunner = class {
  trace = process.env.VM_STATE_TRACE === "1";
  spawned = 0;
  async run(argv, opts = {}) {
    const [file, ...args] = argv;
    if (!file) throw new Error("empty argv");
    this.spawned++;
    if (this.trace) process.stderr.write(`+ ${argv.join(" ")}
`);
    const r = await execa(file, args, {
      env: { LC_ALL: "C", LANG: "C" },
      reject: false,
      timeout: opts.timeout ?? 12e4,
      input: opts.input,
      stdin: opts.input === void 0 ? "ignore" : void 0,
      stripFinalNewline: false
    });
    if (r.failed && r.exitCode === void 0) {
      const why = r.timedOut ? `timed out after ${opts.timeout ?? 12e4} ms` : r.cause?.message ?? r.shortMessage ?? "could not run";
      return { stdout: String(r.stdout ?? ""), stderr: why, exitCode: 127 };
    }
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? 1 };
  }
  async pipe(producer, consumer, opts = {}) {
    const [pFile, ...pArgs] = producer;
    const [cFile, ...cArgs] = consumer;
    if (!pFile || !cFile) throw new Error("empty argv");
    this.spawned += 2;
    if (this.trace) process.stderr.write(`+ ${producer.join(" ")} | ${consumer.join(" ")}
`);
    const common = { env: { LC_ALL: "C", LANG: "C" }, reject: false, timeout: opts.timeout, stripFinalNewline: false };
    const source = execa(pFile, pArgs, { ...common, stdin: "ignore", buffer: { stdout: false }, encoding: "buffer" });
    const sink = execa(cFile, cArgs, common);
    try {
      await source.pipe(sink);
    } catch {
    }
    const [p, c] = await Promise.all([source, sink]);
    const side = (r, argv) => {
      const stderr = typeof r.stderr === "string" ? r.stderr : Buffer.from(r.stderr ?? []).toString();
      const stdout = typeof r.stdout === "string" ? r.stdout : "";
      if (r.failed && r.exitCode === void 0) {
        const why = r.timedOut ? `timed out after ${opts.timeout} ms` : r.isTerminated ? `killed by ${r.signal}` : r.cause?.message ?? `${argv[0]}: could not run`;
        return { stdout, stderr: stderr || why, exitCode: 127 };
      }
      return { stdout, stderr, exitCode: r.exitCode ?? 1 };
    };
    return { producer: side(p, producer), consumer: side(c, consumer) };
  }
};
export {
  CommandError,
  ExecaRunner,
  classify,
  runChecked
};
