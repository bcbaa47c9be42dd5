import { BLOCKED_EXIT } from "./python-worker.js";
import { PYTHON_CODEC } from "./python-codec.js";

/**
 * The trusted side, outside the jail (`python -I -S -B`, so no site-packages .pth runs in it). It reads
 * the job from stdin, starts the worker, runs the problem's context (the prompt) and tests itself with
 * a stand-in for the entry point that forwards each call to the worker, and writes the verdict on fd 3,
 * a pipe the worker never holds, only after check() has returned or raised. The worker's exit status
 * never means "passed".
 */
export const PYTHON_HARNESS =
  PYTHON_CODEC +
  String.raw`
import builtins as _builtins, sys as _sys, threading as _threading, time as _time

class CandidateDied(BaseException):
    """The worker ended or broke the protocol: no later call can succeed."""

class CandidateError(Exception):
    """An exception of the candidate's own class, which the harness does not recreate."""

def _format_exc():
    import traceback  # only on failure: it is slow to import
    return traceback.format_exc(limit=-3)

class _Tail:
    """Drains the worker's stderr, keeping the last bytes and stopping the worker past the output cap."""
    def __init__(self, fd, cap, on_overflow):
        self.data, self.total, self.overflow = b"", 0, False
        self.fd, self.cap, self.on_overflow = fd, cap, on_overflow
    def run(self):
        while True:
            chunk = _os.read(self.fd, 65536)
            if not chunk:
                return
            self.total += len(chunk)
            self.data = (self.data + chunk)[-4000:]
            if self.total > self.cap and not self.overflow:
                self.overflow = True
                self.on_overflow()
    def text(self):
        return self.data.decode("utf-8", "replace")

def _spawn(command, env, stderr_fd):
    # posix_spawn (vfork) rather than subprocess: much faster to import and to start.
    null = _os.open(_os.devnull, _os.O_RDWR)
    actions = [(_os.POSIX_SPAWN_DUP2, null, 0), (_os.POSIX_SPAWN_DUP2, null, 1), (_os.POSIX_SPAWN_DUP2, stderr_fd, 2)]
    try:
        return _os.posix_spawnp(command[0], command, env, file_actions=actions)
    finally:
        _os.close(null)

class Worker:
    def __init__(self, job):
        req_r, self.req = _os.pipe()
        self.rep, rep_w = _os.pipe()
        err_r, err_w = _os.pipe()
        for fd in (req_r, rep_w):
            _os.set_inheritable(fd, True)
        limits = job["limits"]
        args = [str(req_r), str(rep_w)] + [str(limits[k]) for k in ("cpu", "memory", "fileSize", "processes", "reply")]
        for procs in job["cgroups"]:  # the harness joins first, so everything it starts is counted
            with open(procs, "w") as f:
                f.write(str(_os.getpid()))
        _os.chdir(job["cwd"])
        self.pid, self.code = _spawn(job["command"] + args, job["env"], err_w), None
        for fd in (req_r, rep_w, err_w):
            _os.close(fd)
        self.reply_limit, self.died = limits["reply"], None
        self.tail = _Tail(err_r, limits["output"], self.kill)
        _threading.Thread(target=self.tail.run, daemon=True).start()

    def poll(self):
        if self.code is None:
            pid, status = _os.waitpid(self.pid, _os.WNOHANG)
            if pid:
                self.code = _os.waitstatus_to_exitcode(status)
        return self.code

    def wait(self, seconds):
        end = _time.monotonic() + seconds
        while self.poll() is None and _time.monotonic() < end:
            _time.sleep(0.002)
        return self.code

    def kill(self):
        try:
            _os.kill(self.pid, 9)
        except ProcessLookupError:
            pass

    def ask(self, message):
        if self.died is None:
            try:
                send(self.req, message)
                answer = receive(self.rep, self.reply_limit + 1024)
                if type(answer) is dict:
                    return answer
                self.died = "the candidate's process ended"
            except (OSError, ValueError) as error:
                self.died = "the candidate broke the protocol (%s)" % error
        raise CandidateDied(self.died)

    def call(self, *args, **kwargs):
        answer = self.ask({"args": encode(list(args)), "kwargs": encode(kwargs)})
        if "value" in answer:
            try:
                return decode(answer["value"])
            except (TypeError, ValueError, OverflowError) as error:
                raise TypeError("the candidate returned a value the harness does not accept: %s" % error) from None
        name, message = str(answer.get("raise")), str(answer.get("message"))
        self.traceback = str(answer.get("traceback", ""))
        kind = getattr(_builtins, name, None)
        if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, OSError):
            raise kind(message)
        raise CandidateError("%s: %s" % (name, message))

    def stop(self):
        self.kill()
        return self.wait(2)

def _exit_cause(code):
    signal = -code if code is not None and code < 0 else code - 128 if code is not None and code > 128 else None
    if code == ${BLOCKED_EXIT}:
        return "blocked"
    return "timeout" if signal in (9, 24) else "failed"  # SIGKILL, SIGXCPU: the CPU limit

def _judge(job, worker):
    loaded = worker.ask({"code": job["solution"], "entry": job["entry"]})
    if "loadError" in loaded:
        error = loaded["loadError"]
        return "failed", "the program did not load:\n" + str(error.get("traceback") or error.get("message"))
    namespace = {"__name__": "__seapo_tests__"}
    exec(compile(job["context"], "<prompt>", "exec"), namespace)
    candidate = worker.call
    namespace[job["entry"]] = candidate
    exec(compile(job["tests"], "<tests>", "exec"), namespace)
    try:
        namespace[job["check"]](candidate)
    except CandidateDied:
        raise
    except BaseException:  # the tests' own verdict: an assertion, or an error raised by a call
        return "failed", _format_exc() + getattr(worker, "traceback", "")
    return "passed", ""

def _outcome(job, worker):
    try:
        status, detail = _judge(job, worker)
    except CandidateDied as died:
        status, detail = None, str(died)
    except BaseException:
        return "failed", "the harness failed on the problem's own code:\n" + _format_exc()
    if worker.died is not None:  # ended during check(), even if the tests swallowed the error
        code = worker.wait(1)  # let it finish dying, so its exit status is its own
        return _exit_cause(code), "%s (exit status %s)" % (worker.died, code)
    return status, detail

def main():
    _os.set_inheritable(3, False)  # the verdict pipe: never passed on to the worker
    job = _json.loads(_sys.stdin.buffer.read())
    worker = Worker(job)
    status, detail = _outcome(job, worker)
    code = worker.poll()
    worker.stop()
    if worker.tail.overflow:
        status, detail = "failed", "the candidate wrote more than %d bytes to stderr" % job["limits"]["output"]
    verdict = {"status": status, "detail": detail[-2000:], "stderr": worker.tail.text(), "exitCode": code}
    with _os.fdopen(3, "w") as out:
        out.write(_json.dumps(verdict))
    _os._exit(0)

main()
`;
