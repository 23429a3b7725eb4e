// The example app paas deploys with the node buildpack.
const fs = require("fs");
const http = require("http");
const ms = require("ms");

const started = Date.now();
const built = fs.existsSync("build-info.txt") ? "yes" : "no";

const server = http.createServer((req, res) => {
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  if (req.url === "/health") {
    res.end("ok\n");
    return;
  }
  const release = process.env.PAAS_RELEASE || "?";
  res.end(`Hello from node! release=${release} built=${built} up=${ms(Date.now() - started)}\n`);
});

server.listen(Number(process.env.PORT || 5000), "0.0.0.0");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
