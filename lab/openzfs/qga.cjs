'use strict';
// lab/openzfs/qga.cjs: talks to the QEMU guest agent of the OpenZFS lab.
//
//   node qga.cjs serve AGENT_SOCKET MUX_SOCKET   the multiplexer (lab/openzfs/up starts it)
//   node qga.cjs ready MUX_SOCKET TIMEOUT_S      waits until the agent answers
//   node qga.cjs exec MUX_SOCKET N ENV1..ENVN CMD ARGS...   what lab/exec runs
//   node qga.cjs console CONSOLE_SOCKET          the serial console (lab/shell)
//
// The agent serves one client at a time over its virtio-serial port, so one
// long-lived process (serve) owns that connection, serialises every request
// on it and runs any number of commands at once for its clients: each is a
// guest-exec (with the client's standard input as input-data and
// capture-output) followed by guest-exec-status polls until it has exited.
// A client sends one JSON line and gets one back; it then writes the
// command's stdout and stderr and exits with its status (or its signal).
// Standard input is read to its end before the command starts (guest-exec
// takes it whole), and output arrives when the command has exited.
const net = require('node:net');
const fs = require('node:fs');

const [mode, ...rest] = process.argv.slice(2);

function fail(msg) {
  process.stderr.write(`lab: ${msg}\n`);
  process.exit(1);
}

// --- serve --------------------------------------------------------------------

function serve(agentPath, muxPath) {
  let sock = null;
  let buf = Buffer.alloc(0);
  let synced = false;
  let syncId = 0;
  let nextId = 1;
  const queue = []; // {cmd, args, resolve, reject}
  let inflight = null;
  const readyWaiters = [];

  const log = (m) => process.stderr.write(`${new Date().toISOString()} qga: ${m}\n`);

  function onLine(line) {
    if (!line.trim()) return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      log(`unparsable line from the agent: ${line.slice(0, 200)}`);
      return;
    }
    if (!synced) {
      if (msg.return === syncId) {
        synced = true;
        log('agent in sync');
        readyWaiters.splice(0).forEach((f) => f());
        pump();
      }
      return;
    }
    // Every request carries an id the agent echoes: a late answer to a request
    // given up on, or to a repeated sync, is not taken for the current one's.
    const req = inflight;
    if (!req || msg.id !== req.id) {
      log(`stray message: ${line.slice(0, 200)}`);
      return;
    }
    inflight = null;
    clearTimeout(req.timer);
    if (msg.error) req.reject(new Error(`${msg.error.class}: ${msg.error.desc}`));
    else req.resolve(msg.return);
    pump();
  }

  function onData(chunk) {
    buf = Buffer.concat([buf, chunk]);
    // guest-sync-delimited answers 0xFF before its reply (JSON never holds that
    // byte): drop what precedes it.
    const ff = buf.lastIndexOf(0xff);
    if (ff >= 0) buf = buf.subarray(ff + 1);
    let nl;
    while ((nl = buf.indexOf(10)) >= 0) {
      const line = buf.subarray(0, nl).toString();
      buf = buf.subarray(nl + 1);
      onLine(line);
    }
  }

  function resync() {
    synced = false;
    syncId = Math.floor(Math.random() * 2 ** 31);
    if (!sock) return;
    sock.write(Buffer.from([0xff]));
    sock.write(JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id: syncId } }) + '\n');
  }

  function pump() {
    if (!synced || inflight || !queue.length) return;
    inflight = queue.shift();
    // An agent call is short (guest-exec returns at once); one that hangs means
    // the agent lost track: fail it and resynchronise.
    inflight.timer = setTimeout(() => {
      const req = inflight;
      inflight = null;
      req.reject(new Error(`guest agent did not answer ${req.cmd} in 30 s`));
      resync();
    }, 30_000);
    inflight.id = nextId++;
    sock.write(JSON.stringify({ execute: inflight.cmd, arguments: inflight.args, id: inflight.id }) + '\n');
  }

  const call = (cmd, args) =>
    new Promise((resolve, reject) => {
      queue.push({ cmd, args, resolve, reject });
      pump();
    });

  function connect() {
    sock = net.createConnection(agentPath);
    sock.on('connect', () => {
      log(`connected to ${agentPath}`);
      resync();
    });
    sock.on('data', onData);
    sock.on('error', (e) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return; // QEMU not listening yet
      log(`agent socket: ${e.message}`);
    });
    sock.on('close', () => {
      // QEMU is gone (lab/down): nothing more to serve.
      if (synced) {
        log('agent socket closed: exiting');
        process.exit(0);
      }
      sock = null;
      setTimeout(connect, 200);
    });
  }
  connect();
  // Until the agent answers (it starts late in the guest's boot), ask again.
  setInterval(() => {
    if (!synced && sock && !sock.connecting) resync();
  }, 1000);

  async function run(req) {
    const [path, ...arg] = req.argv;
    const args = { path, arg, env: req.env, 'capture-output': true };
    if (req.input) args['input-data'] = req.input;
    let pid;
    try {
      ({ pid } = await call('guest-exec', args));
    } catch (e) {
      return { spawnError: e.message };
    }
    // Each poll costs the guest an agent request: quick ones first (most
    // commands take milliseconds), then no more than 20 a second.
    let wait = 3;
    for (;;) {
      await new Promise((r) => setTimeout(r, wait));
      const st = await call('guest-exec-status', { pid });
      if (st.exited) return st;
      wait = Math.min(wait * 2, 50);
    }
  }

  try {
    fs.unlinkSync(muxPath);
  } catch {
    // not there
  }
  net
    .createServer((c) => {
      let data = '';
      c.on('data', (d) => {
        data += d;
        const nl = data.indexOf('\n');
        if (nl < 0) return;
        const req = JSON.parse(data.slice(0, nl));
        const reply = (o) => c.end(JSON.stringify(o) + '\n');
        if (req.ready) {
          if (synced) reply({ ready: true });
          else readyWaiters.push(() => reply({ ready: true }));
          return;
        }
        // A client that goes away (killed) leaves its command running, as
        // nsenter does; it is still polled until it exits, then forgotten.
        run(req).then(reply, (e) => reply({ spawnError: e.message }));
      });
      c.on('error', () => {});
    })
    .listen(muxPath);
}

// --- clients ------------------------------------------------------------------

function request(muxPath, obj, onReply) {
  const c = net.createConnection(muxPath);
  let data = '';
  c.on('connect', () => c.write(JSON.stringify(obj) + '\n'));
  c.on('data', (d) => (data += d));
  c.on('end', () => {
    let reply;
    try {
      reply = JSON.parse(data);
    } catch {
      fail('the lab guest agent multiplexer closed the connection (is the lab up?)');
    }
    onReply(reply);
  });
  c.on('error', (e) => fail(`lab is not up (${muxPath}: ${e.code || e.message}); run LAB_BACKEND=openzfs lab/up`));
}

function exec(muxPath, n, envAndArgv) {
  const env = envAndArgv.slice(0, n);
  const argv = envAndArgv.slice(n);
  if (!argv.length) fail('usage: lab/exec CMD [ARGS...]');
  // Standard input is sent whole: read it unless it is a terminal.
  let input = '';
  let st = null;
  try {
    st = fs.fstatSync(0);
  } catch {
    // closed
  }
  if (st && (st.isFIFO() || st.isFile() || st.isSocket())) input = fs.readFileSync(0).toString('base64');
  request(muxPath, { argv, env, input }, (r) => {
    if (r.spawnError) {
      // As nsenter does when it cannot execute the command.
      process.stderr.write(`lab/exec: failed to execute ${argv[0]}: ${r.spawnError}\n`);
      process.exit(127);
    }
    const out = r['out-data'] ? Buffer.from(r['out-data'], 'base64') : null;
    const err = r['err-data'] ? Buffer.from(r['err-data'], 'base64') : null;
    if (r['out-truncated'] || r['err-truncated']) process.stderr.write('lab/exec: the guest agent truncated the output\n');
    const finish = () => {
      if (r.signal !== undefined) {
        const name = Object.keys(require('node:os').constants.signals).find(
          (k) => require('node:os').constants.signals[k] === r.signal,
        );
        process.removeAllListeners();
        if (name && name !== 'SIGSTOP' && name !== 'SIGTSTP') {
          try {
            process.kill(process.pid, name);
          } catch {
            // fall through to the exit code
          }
        }
        process.exitCode = 128 + r.signal;
        setTimeout(() => process.exit(128 + r.signal), 100);
        return;
      }
      process.exitCode = r.exitcode ?? 1;
    };
    let pending = 0;
    const done = () => --pending === 0 && finish();
    pending++;
    if (out && out.length) {
      pending++;
      process.stdout.write(out, done);
    }
    if (err && err.length) {
      pending++;
      process.stderr.write(err, done);
    }
    done();
  });
}

// The guest's serial console (a root shell) on this terminal; Ctrl-] leaves.
function consoleClient(path) {
  const c = net.createConnection(path);
  c.on('error', (e) => fail(`no guest console at ${path} (${e.code || e.message}): is the lab up?`));
  c.on('connect', () => {
    process.stderr.write('lab: the guest console (Ctrl-] to leave)\r\n');
    process.stdin.setRawMode(true);
    process.stdin.on('data', (d) => {
      if (d.includes(0x1d)) {
        process.stdin.setRawMode(false);
        process.stderr.write('\r\n');
        process.exit(0);
      }
      c.write(d);
    });
    c.pipe(process.stdout);
    c.write('\r');
  });
  c.on('close', () => process.exit(0));
}

if (mode === 'serve') serve(rest[0], rest[1]);
else if (mode === 'console') consoleClient(rest[0]);
else if (mode === 'ready') {
  const t = setTimeout(() => fail(`the guest agent did not answer in ${rest[1]} s`), Number(rest[1]) * 1000);
  request(rest[0], { ready: true }, () => {
    clearTimeout(t);
    process.exit(0);
  });
} else if (mode === 'exec') exec(rest[0], Number(rest[1]), rest.slice(2));
else fail('usage: qga.cjs serve|ready|exec ...');
