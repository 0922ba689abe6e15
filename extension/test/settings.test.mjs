import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_SETTINGS, SettingsError, checkServiceUrl, checkTimeout, checkToken, loadSettings } from "../src/lib/settings.js";

test("service addresses are normalised", () => {
  assert.equal(checkServiceUrl(" http://127.0.0.1:8000/ "), "http://127.0.0.1:8000");
  assert.equal(checkServiceUrl("https://news.example/propscan//"), "https://news.example/propscan");
  assert.equal(checkServiceUrl("http://[::1]:8000"), "http://[::1]:8000");
});

test("addresses propscan cannot use are refused with what to do", () => {
  for (const [input, message] of [
    ["127.0.0.1:8000", /must start with http/],
    ["localhost", /must start with http/],
    ["http://exa mple.org", /is not an address/],
    ["ftp://example.org", /must start with http/],
    ["http://user:pw@example.org", /without a user name/],
    ["http://example.org/?a=1", /without a user name, password, \? or #/],
    ["", /must start with http/],
  ]) {
    assert.throws(() => checkServiceUrl(input), (error) => error instanceof SettingsError && message.test(error.message));
  }
});

test("tokens and time limits are checked", () => {
  assert.equal(checkToken("  abc-DEF_123 \n"), "abc-DEF_123");
  assert.throws(() => checkToken(" "), SettingsError);
  assert.throws(() => checkToken("two words"), SettingsError);
  assert.throws(() => checkToken("tökén"), SettingsError);
  assert.equal(checkTimeout("30"), 30);
  for (const bad of ["0", "601", "soon", "", "NaN"]) assert.throws(() => checkTimeout(bad), SettingsError);
});

test("stored settings override the defaults", async () => {
  const storage = { get: async () => ({ token: "t" }) };
  assert.deepEqual(await loadSettings(storage), { ...DEFAULT_SETTINGS, token: "t" });
});
