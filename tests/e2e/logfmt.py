#!/usr/bin/env python3
"""Strict logfmt reader for xdpns logs.

  logfmt.py LOG                      every line parses; ts, level, msg first
  logfmt.py LOG 'MSG' k=v k=~regex   some line has msg=MSG and those fields
                                     (k=v exact, k=~re a full regex match)
Exit 0 when it holds, 1 (with the reason) when not.
"""
import re
import sys

BARE = re.compile(r'[^\s"=\\\x00-\x20\x7f-\xff]+')


def parse(line):
    """The fields of one line as a list of (key, value), or raise."""
    out, i, n = [], 0, len(line)
    while i < n:
        m = re.compile(r'[A-Za-z_][A-Za-z0-9_.]*=').match(line, i)
        if not m:
            raise ValueError("no key at column %d" % i)
        key = m.group()[:-1]
        i = m.end()
        if i < n and line[i] == '"':
            i += 1
            val = []
            while True:
                if i >= n:
                    raise ValueError("unterminated quote for " + key)
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if c == '\\':
                    e = line[i + 1:i + 2]
                    if e in ('"', '\\'):
                        val.append(e)
                        i += 2
                    elif e in ('n', 'r', 't'):
                        val.append({'n': '\n', 'r': '\r', 't': '\t'}[e])
                        i += 2
                    elif e == 'x' and re.match(r'[0-9a-f]{2}', line[i + 2:i + 4]):
                        val.append(chr(int(line[i + 2:i + 4], 16)))
                        i += 4
                    else:
                        raise ValueError("bad escape in " + key)
                    continue
                if ord(c) < 0x20 or ord(c) >= 0x7f:
                    raise ValueError("raw control byte in " + key)
                val.append(c)
                i += 1
            value = ''.join(val)
        else:
            m = BARE.match(line, i)
            if not m:
                raise ValueError("empty bare value for " + key)
            value = m.group()
            i = m.end()
        out.append((key, value))
        if i < n:
            if line[i] != ' ':
                raise ValueError("junk after " + key)
            i += 1
    return out


def main():
    lines = open(sys.argv[1], encoding='latin-1').read().splitlines()
    events = []
    for no, line in enumerate(lines, 1):
        try:
            f = parse(line)
        except ValueError as e:
            print("line %d is not logfmt (%s): %r" % (no, e, line))
            return 1
        keys = [k for k, _ in f]
        if keys[:3] not in (['ts', 'level', 'msg'], ['level', 'msg']):
            print("line %d does not start with ts= level= msg=: %r" % (no, line))
            return 1
        if len(set(keys)) != len(keys):
            print("line %d repeats a key: %r" % (no, line))
            return 1
        events.append(dict(f))
    if not lines:
        print("empty log")
        return 1
    if len(sys.argv) < 3:
        return 0
    want_msg, conds = sys.argv[2], sys.argv[3:]
    for ev in events:
        if ev.get('msg') != want_msg:
            continue
        ok = True
        for c in conds:
            k, v = c.split('=', 1)
            if v.startswith('~'):
                ok = k in ev and re.fullmatch(v[1:], ev[k]) is not None
            else:
                ok = ev.get(k) == v
            if not ok:
                break
        if ok:
            return 0
    print("no event msg=%r with %s" % (want_msg, ' '.join(conds)))
    for ev in events:
        if ev.get('msg') == want_msg:
            print("   seen:", ev)
    return 1


if __name__ == '__main__':
    sys.exit(main())
