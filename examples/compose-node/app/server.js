// Listens on $PORT (3000 by default) on every address of its container.
const http = require("http");
const port = Number(process.env.PORT || 3000);
http
  .createServer((req, res) => res.end(`hello from ${req.url}\n`))
  .listen(port, () => console.log(`listening on ${port}`));
