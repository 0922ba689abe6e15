import assert from "node:assert/strict";
import { test } from "node:test";

import { ServiceProblem, analyseArticle, callService, fetchTechniques, permanentLink } from "../src/lib/service.js";

const SETTINGS = { serviceUrl: "http://127.0.0.1:8000", token: "secret", timeoutSeconds: 1 };

function answer(status, body, seen = []) {
  return async (url, init) => {
    seen.push({ url, init });
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return new Response(text, { status, headers: { "content-type": "application/json" } });
  };
}

test("requests carry the token and no cookies, to the configured service only", async () => {
  const seen = [];
  await callService(SETTINGS, "/healthz", {}, answer(200, { status: "ok" }, seen));
  assert.equal(seen[0].url, "http://127.0.0.1:8000/healthz");
  assert.equal(seen[0].init.headers.Authorization, "Bearer secret");
  assert.equal(seen[0].init.credentials, "omit");
});

test("the service's own message is shown for a refusal", async () => {
  const refusal = answer(413, { error: "text_too_long", message: "the article has 300,000 characters, more than the limit of 200,000" });
  await assert.rejects(
    analyseArticle(SETTINGS, { text: "x" }, refusal),
    (error) => error instanceof ServiceProblem && error.message.endsWith("more than the limit of 200,000"),
  );
});

test("long titles are cut to 1000 characters without splitting an emoji", async () => {
  const seen = [];
  const text = "x";
  const stored = answer(201, { id: "a1", text, spans: [] }, seen);
  await analyseArticle(SETTINGS, { text, title: "a".repeat(999) + "😀 news", source: "😀".repeat(1200) }, stored);
  const sent = JSON.parse(seen[0].init.body);
  assert.equal(sent.title, "a".repeat(999) + "😀");
  assert.equal(Array.from(sent.source).length, 1000);
  assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(sent.title + sent.source));
});

test("a service that is down, slow or not propscan gets a message saying what to check", async () => {
  const down = async () => {
    throw new TypeError("Failed to fetch");
  };
  await assert.rejects(callService(SETTINGS, "/api/techniques", {}, down), /No propscan service answered at http:\/\/127.0.0.1:8000/);
  const slow = (url, init) =>
    new Promise((resolve, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  await assert.rejects(callService(SETTINGS, "/api/techniques", {}, slow), /did not answer within 1 s/);
  await assert.rejects(callService(SETTINGS, "/api/techniques", {}, answer(404, "<html>nope</html>")), /answered HTTP 404 .* not a propscan service/);
  await assert.rejects(fetchTechniques(SETTINGS, answer(200, { hello: 1 })), /gave no list of techniques/);
  const typo = answer(404, { error: "not_found", message: "there is nothing at this address" });
  await assert.rejects(fetchTechniques(SETTINGS, typo), /answered HTTP 404 to \/api\/techniques, so it is not a propscan service/);
});

test("an answer for another text is refused rather than marked", async () => {
  const other = answer(201, { id: "abc", text: "another text", spans: [] });
  await assert.rejects(analyseArticle(SETTINGS, { text: "this text" }, other), /different text/);
});

test("techniques keep only colours that are colours", async () => {
  const list = [{ label: "A", name: "a", definition: "d", colour: "red;background:url(x)" }, { label: "B", name: "b", colour: "#123456" }];
  const techniques = await fetchTechniques(SETTINGS, answer(200, list));
  assert.deepEqual(techniques.map((t) => t.colour), ["#dddddd", "#123456"]);
  assert.equal(techniques[1].definition, "");
  assert.equal(permanentLink("http://h:1/p", "a b"), "http://h:1/p/a/a%20b");
});
