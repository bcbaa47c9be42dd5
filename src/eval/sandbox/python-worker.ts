import { PYTHON_CODEC } from "./python-codec.js";

/** Exit status the worker's audit hook uses when it stops a program. */
export const BLOCKED_EXIT = 97;

/**
 * The untrusted side, run inside the jail: limits, the audit hook, then the candidate's module (read
 * from the request pipe, never from a file), then one call of the entry point per request. It never
 * sees the tests and decides nothing: it only returns values (or the exception raised).
 * argv: request-fd reply-fd cpu-seconds memory-bytes file-size-bytes processes reply-limit.
 */
export const PYTHON_WORKER =
  PYTHON_CODEC +
  String.raw`
import resource as _resource, sys as _sys

def _limits(cpu, mem, fsize, nproc):
    R = _resource
    for what, value in ((R.RLIMIT_CPU, (cpu, cpu + 1)), (R.RLIMIT_AS, (mem, mem)), (R.RLIMIT_FSIZE, (fsize, fsize)),
                        (R.RLIMIT_CORE, (0, 0)), (R.RLIMIT_NPROC, (nproc, nproc))):
        R.setrlimit(what, value)

def _install_hook(root):
    # Defence in depth and a readable "blocked" status; the jail does not rely on it. State lives in this
    # closure (not in module globals the candidate can reach), and os._exit is bound before the candidate runs.
    realpath, fsdecode, write, stop_now = _os.path.realpath, _os.fsdecode, _os.write, _os._exit
    sep, busy = _os.sep, [False]
    WRITE = _os.O_WRONLY | _os.O_RDWR | _os.O_CREAT | _os.O_TRUNC | _os.O_APPEND
    FORBIDDEN = {"socket.__new__", "socket.connect", "socket.bind", "subprocess.Popen", "os.system", "os.exec",
                 "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn",
                 "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function"}
    PATH_ARGS = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.link": (0, 1),
                 "os.symlink": (1,), "os.truncate": (0,), "os.chmod": (0,), "os.chown": (0,), "os.utime": (0,),
                 "os.mkfifo": (0,), "os.mknod": (0,), "os.setxattr": (0,), "os.removexattr": (0,),
                 "shutil.rmtree": (0,)}
    def outside(path):
        if isinstance(path, int):
            return False
        full = realpath(fsdecode(path))
        return full != root and not full.startswith(root + sep)
    def stop(event, detail):
        write(2, ("seapo-sandbox: blocked %s %s\n" % (event, detail)).encode("utf-8", "replace"))
        stop_now(${BLOCKED_EXIT})
    def hook(event, args):
        if busy[0]:
            return
        busy[0] = True
        try:
            if event in FORBIDDEN:
                stop(event, "")
            if event == "open" and len(args) >= 3 and isinstance(args[2], int) and args[2] & WRITE and outside(args[0]):
                stop(event, repr(args[0]))
            for i in PATH_ARGS.get(event, ()):
                if i < len(args) and args[i] is not None and outside(args[i]):
                    stop(event, repr(args[i]))
        finally:
            busy[0] = False
    _sys.addaudithook(hook)

_source = [""]

def _load(source, entry):
    _source[0] = source
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(source, "<candidate>", "exec"), namespace)
    if not callable(namespace.get(entry)):
        raise NameError("the program defines no function %r" % entry)
    return namespace[entry]

def _failure(error):
    import linecache, traceback  # only on failure: they are slow to import
    linecache.cache["<candidate>"] = (len(_source[0]), None, _source[0].splitlines(True), "<candidate>")
    try:
        message = str(error)[:2000]
    except BaseException:
        message = "(unprintable)"
    return {"raise": type(error).__name__, "message": message, "traceback": traceback.format_exc()[-4000:]}

def _serve():
    request, reply, cpu, mem, fsize, nproc, limit = map(int, _sys.argv[1:8])
    _limits(cpu, mem, fsize, nproc)
    job = receive(request, 1 << 26)
    _install_hook(_os.path.realpath(_os.getcwd()))
    try:
        function = _load(job["code"], job["entry"])
    except BaseException as error:
        send(reply, {"loadError": _failure(error)})
        return
    send(reply, {"ready": True})
    while True:
        call = receive(request, 1 << 26)
        if call is None:
            return
        try:
            out = {"value": encode(function(*decode(call["args"]), **decode(call["kwargs"])))}
        except BaseException as error:
            out = _failure(error)
        data = _json.dumps(out)
        send(reply, out if len(data) <= limit else {"raise": "ValueError", "message": "reply over %d bytes" % limit})

_serve()
_os._exit(0)
`;
