/**
 * Talking to the reader's propscan service: the only place the extension sends anything.
 * Every failure becomes a {@link ServiceProblem} whose message the popup shows as it is.
 */

/** Something went wrong between the extension and the service; the message says what to do. */
export class ServiceProblem extends Error {}

/**
 * @typedef {{serviceUrl: string, token: string, timeoutSeconds: number}} Settings
 * @typedef {typeof fetch} Fetch
 */

const COLOUR = /^#[0-9a-f]{3,8}$/i;

/**
 * One request to the service with the token, answered with its JSON.
 * @param {Settings} settings
 * @param {string} path
 * @param {{method?: string, body?: object}} [request]
 * @param {Fetch} [fetchImpl]
 */
export async function callService(settings, path, { method = "GET", body } = {}, fetchImpl = fetch) {
  const { serviceUrl, token, timeoutSeconds } = settings;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutSeconds * 1000);
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    let response;
    let payload = null;
    try {
      response = await fetchImpl(`${serviceUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        credentials: "omit",
        cache: "no-store",
      });
      payload = await response.json().catch(() => null);
    } catch (error) {
      if (controller.signal.aborted) {
        throw new ServiceProblem(
          `The propscan service at ${serviceUrl} did not answer within ${timeoutSeconds} s. ` +
            "Try again, or allow it more time in the extension's options.",
        );
      }
      throw new ServiceProblem(
        `No propscan service answered at ${serviceUrl}. Is 'propscan serve' running there, and ` +
          "is that the address in the extension's options?",
      );
    }
    if (!response.ok) {
      // the extension asks only for addresses every propscan service has
      if (response.status !== 404 && typeof payload?.message === "string") {
        throw new ServiceProblem(`The propscan service refused: ${payload.message}`);
      }
      throw notPropscan(serviceUrl, `answered HTTP ${response.status} to ${path}`);
    }
    if (payload === null) throw notPropscan(serviceUrl, `did not answer ${path} with JSON`);
    return payload;
  } finally {
    clearTimeout(timer);
  }
}

function notPropscan(serviceUrl, what) {
  return new ServiceProblem(
    `${serviceUrl} ${what}, so it is not a propscan service (or an older one); ` +
      "check the address in the extension's options.",
  );
}

/**
 * The techniques with their names, colours and definitions, as the service's model has them.
 * @param {Settings} settings
 * @param {Fetch} [fetchImpl]
 * @returns {Promise<import("./techniques.js").Technique[]>}
 */
export async function fetchTechniques(settings, fetchImpl = fetch) {
  const answer = await callService(settings, "/api/techniques", {}, fetchImpl);
  const valid =
    Array.isArray(answer) &&
    answer.every((t) => t && typeof t.label === "string" && typeof t.name === "string");
  if (!valid) throw notPropscan(settings.serviceUrl, "gave no list of techniques");
  return answer.map(({ label, name, definition, colour }) => ({
    label,
    name,
    definition: typeof definition === "string" ? definition : "",
    colour: COLOUR.test(colour ?? "") ? colour : "#dddddd",
  }));
}

/**
 * The first ``limit`` characters of ``value`` as the service counts them (code points), so
 * that a cut never splits an emoji into a lone surrogate, which the service refuses.
 * @param {string} value
 * @param {number} limit
 */
function firstCharacters(value, limit) {
  return Array.from(value).slice(0, limit).join("");
}

/**
 * Analyse an article's text; the stored analysis (with its permanent ``id``) comes back.
 * @param {Settings} settings
 * @param {{text: string, title?: string, source?: string}} article
 * @param {Fetch} [fetchImpl]
 */
export async function analyseArticle(settings, article, fetchImpl = fetch) {
  const body = { text: article.text };
  if (article.title) body.title = firstCharacters(article.title, 1000);
  if (article.source) body.source = firstCharacters(article.source, 1000);
  const answer = await callService(settings, "/api/analyze", { method: "POST", body }, fetchImpl);
  const valid =
    answer && typeof answer.id === "string" && typeof answer.text === "string" && Array.isArray(answer.spans);
  if (!valid) throw notPropscan(settings.serviceUrl, "answered the analysis without an id, text or spans");
  if (answer.text !== article.text) {
    throw new ServiceProblem(
      "The service analysed a different text than the extension sent, so its marks could not be placed; " +
        "nothing was marked.",
    );
  }
  return answer;
}

/**
 * The page of an analysis on the service (its permanent link).
 * @param {string} serviceUrl
 * @param {string} id
 */
export function permanentLink(serviceUrl, id) {
  return `${serviceUrl}/a/${encodeURIComponent(id)}`;
}
