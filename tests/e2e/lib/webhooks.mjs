// A local receiver of the SFU's webhooks that verifies every POST with
// livekit-server-sdk's WebhookReceiver (signature, body hash, expiry).
import http from "node:http";

import { WebhookReceiver } from "livekit-server-sdk";

/**
 * Listens on 127.0.0.1; resolves to {server, url, received, refused}:
 * received holds {event, contentType, body, at} per verified POST (answered
 * 200), refused {error, body} per POST that failed verification (401).
 */
export async function startWebhookReceiver(apiKey, apiSecret) {
  const receiver = new WebhookReceiver(apiKey, apiSecret);
  const received = [];
  const refused = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      try {
        const event = await receiver.receive(body, req.headers.authorization);
        received.push({ event, contentType: req.headers["content-type"], body, at: Date.now() });
        res.writeHead(200).end();
      } catch (e) {
        refused.push({ error: e.message, body });
        res.writeHead(401).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/`, received, refused };
}
