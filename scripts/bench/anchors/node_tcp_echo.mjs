// A plain Node.js TCP echo server: net.createServer and socket.pipe(socket).
// usage: node node_tcp_echo.mjs PORT [HOST]   (HOST defaults to 127.0.0.1)
import net from "node:net";
import process from "node:process";

const port = Number(process.argv[2] || 7777);
const host = process.argv[3] || "127.0.0.1";

const server = net.createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.on("error", (err) => {
  console.error(`node_tcp_echo: ${err.message}`);
  process.exit(1);
});
server.listen(port, host);
