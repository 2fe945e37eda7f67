/**
 * Peers for the SCTP tests that nobody here wrote: python3's socket module (with
 * SCTP_SNDRCV cmsgs built by `struct`), socat and lksctp-tools, plus a helper that starts
 * a long-running peer and waits for the line that says it is ready.
 *
 * @module
 */
import { lines, nextBefore, spawnGroup, stopGroup } from "../helpers.ts";

/**
 * python3 SCTP helpers. PPIDs travel in network byte order, as libsctp's sctp_sendmsg
 * puts them (`sinfo_ppid = htonl(ppid)`), so `--ppid 42` and python's 42 agree on the wire.
 */
export const PY_SCTP = String.raw`
import json, socket, struct, sys
SOL_SCTP = 132
SCTP_EVENTS, SCTP_SNDRCV = 11, 1
def sndrcv(stream, ppid, flags=0, assoc=0):
    return struct.pack("=HHHxx", stream, 0, flags) + struct.pack(">I", ppid) + struct.pack("=IIIIi", 0, 0, 0, 0, assoc)
def parse(anc):
    for level, typ, data in anc:
        if level == SOL_SCTP and typ == SCTP_SNDRCV:
            stream, ssn, flags = struct.unpack_from("=HHH", data, 0)
            (ppid,) = struct.unpack_from(">I", data, 8)
            (assoc,) = struct.unpack_from("=i", data, 28)
            return {"stream": stream, "ssn": ssn, "flags": flags, "ppid": ppid, "assoc": assoc}
    return None
def sock(kind=socket.SOCK_STREAM, fam=socket.AF_INET):
    s = socket.socket(fam, kind, socket.IPPROTO_SCTP)
    s.setsockopt(SOL_SCTP, SCTP_EVENTS, bytes([1, 0, 0, 0, 0, 0]))  # data_io only
    s.setsockopt(SOL_SCTP, 2, struct.pack("=HHHH", 64, 64, 0, 0))      # SCTP_INITMSG
    return s
def recv_data(s):
    while True:
        data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(32))
        if flags & 0x8000:  # MSG_NOTIFICATION
            continue
        return data, parse(anc)
mode = sys.argv[1]
if mode == "client":
    host, port, msgs = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    s = sock()
    s.connect((host, port))
    for stream, ppid, text in msgs:
        s.sendmsg([text.encode()], [(SOL_SCTP, SCTP_SNDRCV, sndrcv(stream, ppid))])
    for _ in msgs:
        data, info = recv_data(s)
        info["data"] = data.decode()
        print(json.dumps(info), flush=True)
    if len(sys.argv) > 5 and sys.argv[5] == "abort":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
elif mode == "server":
    s = sock(fam=socket.AF_INET)
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    print(json.dumps({"port": s.getsockname()[1]}), flush=True)
    c, _ = s.accept()
    c.setsockopt(SOL_SCTP, SCTP_EVENTS, bytes([1, 0, 0, 0, 0, 0]))
    while True:
        try:
            data, info = recv_data(c)
        except ConnectionError:
            break
        if not data:
            break
        info["data"] = data.decode()
        print(json.dumps(info), flush=True)
        c.sendmsg([data], [(SOL_SCTP, SCTP_SNDRCV, sndrcv(info["stream"], info["ppid"]))])
`;

/** A long-running peer process whose output is read line by line. */
export class Peer implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly seen: string[] = [];
  #it: AsyncIterator<string>;
  #other: Promise<string>;

  constructor(cmd: string, args: string[], readFrom: "stdout" | "stderr" = "stdout") {
    this.child = spawnGroup(cmd, args);
    const [watched, other] = readFrom === "stdout"
      ? [this.child.stdout, this.child.stderr]
      : [this.child.stderr, this.child.stdout];
    this.#it = lines(watched)[Symbol.asyncIterator]();
    this.#other = new Response(other).text();
  }

  /** Reads lines until one matches `re`; throws on EOF or after `timeoutMs`. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await nextBefore(this.#it, deadline);
      if (r === "timeout") {
        throw new Error(`peer: no line matching ${re}; saw ${this.seen.join(" | ")}`);
      }
      if (r.done) throw new Error(`peer exited before ${re}; saw ${this.seen.join(" | ")}`);
      this.seen.push(r.value);
      const m = re.exec(r.value);
      if (m) return m;
    }
  }

  /** Kills the peer's process group and collects the rest of its output. */
  async stop(): Promise<string[]> {
    const status = stopGroup(this.child, "SIGKILL");
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await nextBefore(this.#it, deadline);
      if (r === "timeout" || r.done) break;
      this.seen.push(r.value);
    }
    await status;
    await this.#other;
    return this.seen;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
