/**
 * Python shared by the harness and the worker: length-prefixed JSON messages on a pipe, and the codec
 * for the only values that cross it. Plain values only, by exact type (a `str` subclass with its own
 * `__eq__` is refused), so every comparison the tests make runs on the harness's own builtins.
 */
export const PYTHON_CODEC = String.raw`
import json as _json, os as _os, struct as _struct

_MAX_DEPTH = 200

def encode(v, depth=0):
    if depth > _MAX_DEPTH:
        raise ValueError("value nested more than %d deep" % _MAX_DEPTH)
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return {"i": hex(v)}
    if t is float:
        return {"f": repr(v)}
    if t is complex:
        return {"c": [repr(v.real), repr(v.imag)]}
    if t is bytes:
        return {"b": v.hex()}
    if t is dict:
        return {"d": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in v.items()]}
    tag = {list: "l", tuple: "t", set: "s", frozenset: "z"}.get(t)
    if tag is None:
        raise TypeError("not a plain value: %s" % t.__qualname__)
    return {tag: [encode(x, depth + 1) for x in v]}

def _items(x):
    if type(x) is not list:
        raise ValueError("malformed value")
    return x

def decode(v, depth=0):
    if depth > _MAX_DEPTH:
        raise ValueError("value nested more than %d deep" % _MAX_DEPTH)
    if v is None or type(v) is bool or type(v) is str:
        return v
    if type(v) is not dict or len(v) != 1:
        raise ValueError("malformed value")
    (tag, x), = v.items()
    if tag in ("i", "f", "b") and type(x) is not str:
        raise ValueError("malformed value")
    if tag == "i":
        return int(x, 16)
    if tag == "f":
        return float(x)
    if tag == "b":
        return bytes.fromhex(x)
    if tag == "c":
        re, im = _items(x)
        return complex(float(re), float(im))
    if tag == "d":
        pairs = [_items(p) for p in _items(x)]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("malformed value")
        return {decode(p[0], depth + 1): decode(p[1], depth + 1) for p in pairs}
    make = {"l": list, "t": tuple, "s": set, "z": frozenset}.get(tag)
    if make is None:
        raise ValueError("malformed value")
    return make(decode(e, depth + 1) for e in _items(x))

def send(fd, message):
    data = _json.dumps(message).encode("utf-8")
    data = _struct.pack(">I", len(data)) + data
    while data:
        data = data[_os.write(fd, data):]

def _read_exact(fd, n):
    parts = []
    while n > 0:
        chunk = _os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)

def receive(fd, limit):
    """The next message, or None at end of file; a message over limit bytes is refused."""
    header = _read_exact(fd, 4)
    if header is None:
        return None
    (size,) = _struct.unpack(">I", header)
    if size > limit:
        raise ValueError("message of %d bytes is over the %d-byte limit" % (size, limit))
    body = _read_exact(fd, size)
    return None if body is None else _json.loads(body)
`;
