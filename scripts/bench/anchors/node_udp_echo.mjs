// A plain Node.js UDP echo server: a dgram socket that sends each message back to its sender.
// usage: node node_udp_echo.mjs PORT [HOST]   (HOST defaults to 127.0.0.1)
import dgram from "node:dgram";
import process from "node:process";

const port = Number(process.argv[2] || 7777);
const host = process.argv[3] || "127.0.0.1";

const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
sock.on("message", (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
sock.on("error", (err) => {
  console.error(`node_udp_echo: ${err.message}`);
  process.exit(1);
});
sock.bind(port, host);
