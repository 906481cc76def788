// The `atrium` command line as an admin uses it: register-user next to a
// running server, and clear failures (non-zero exit, a message naming the
// problem) for bad configuration.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { ATRIUM_BIN, fetchJson, startServer, withServerLogOnFailure } from "./lib/server.mjs";

function atrium(...args) {
  return spawnSync(ATRIUM_BIN, args, { encoding: "utf8", timeout: 30000 });
}

describe("atrium command line", () => {
  let server, scratch;
  const step = (name, fn) => test(name, () => withServerLogOnFailure(() => server, name, fn));

  before(async () => {
    server = await startServer();
    scratch = await mkdtemp(path.join(os.tmpdir(), "atrium-cli-"));
  });
  after(async () => {
    await server?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  step("register-user creates an account the running server logs in", async () => {
    const r = atrium("register-user", "--data-dir", server.dataDir, "--user", "carol", "--password", "s3cret", "--admin");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /@carol:localhost/);
    const login = await fetchJson(`${server.baseUrl}/_matrix/client/v3/login`, {
      method: "POST",
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: "carol" }, password: "s3cret" },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body.user_id, "@carol:localhost");
  });

  step("well-knowns follow the address used; behind a public URL they name it and registration stays closed", async () => {
    const wk = await fetchJson(`${server.baseUrl}/.well-known/matrix/client`);
    assert.equal(wk.body["m.homeserver"].base_url, server.baseUrl, "the Host the client used, without public_baseurl");
    const config = path.join(scratch, "proxied.yaml");
    await writeFile(config, "public_baseurl: https://matrix.example.org\n");
    const proxied = await startServer({ extraArgs: ["--config", config] });
    try {
      const server = await fetchJson(`${proxied.baseUrl}/.well-known/matrix/server`);
      assert.deepEqual(server.body, { "m.server": "matrix.example.org:443" });
      const client = await fetchJson(`${proxied.baseUrl}/.well-known/matrix/client`);
      assert.equal(client.body["m.homeserver"].base_url, "https://matrix.example.org");
      const reg = await fetchJson(`${proxied.baseUrl}/_matrix/client/v3/register`, { method: "POST", body: { username: "x", password: "y" } });
      assert.equal(reg.status, 403, JSON.stringify(reg.body));
      assert.equal(reg.body.errcode, "M_FORBIDDEN");
    } finally {
      await proxied.stop();
    }
  });

  step("register-user refuses a taken or invalid name", async () => {
    const taken = atrium("register-user", "--data-dir", server.dataDir, "--user", "carol", "--password", "x");
    assert.notEqual(taken.status, 0);
    assert.match(taken.stderr, /M_USER_IN_USE/);
    const invalid = atrium("register-user", "--data-dir", server.dataDir, "--user", "Not Valid", "--password", "x");
    assert.notEqual(invalid.status, 0);
    assert.match(invalid.stderr, /M_INVALID_USERNAME/);
  });

  step("bad configuration stops `serve` with a message naming the problem", async () => {
    const unknownKey = path.join(scratch, "unknown.yaml");
    await writeFile(unknownKey, "server_name: example.org\nsever_name_typo: 1\n");
    let r = atrium("serve", "--config", unknownKey, "--data-dir", path.join(scratch, "d1"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown key 'sever_name_typo'/);

    r = atrium("serve", "--listen", "not-an-address", "--data-dir", path.join(scratch, "d2"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /listen/);

    const badYaml = path.join(scratch, "bad.yaml");
    await writeFile(badYaml, "listen: [unclosed\n");
    r = atrium("serve", "--config", badYaml, "--data-dir", path.join(scratch, "d3"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /not valid YAML/);

    r = atrium("serve", "--config", path.join(scratch, "missing.yaml"));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /cannot read/);
  });
});
