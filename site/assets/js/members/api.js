// Same-origin JSON API client for the members' area (api/openapi.json).
//
// - Cookies only (credentials: "same-origin"); nothing is kept in storage.
// - Every POST, PATCH and DELETE carries the CSRF token from GET /api/csrf
//   in X-CSRF-Token. The token changes with the session, so callers drop it
//   (resetCSRF) after each step that changes the session; a request refused
//   with csrf_invalid is retried once with a fresh token.
// - A request refused with step_up_required (an act that needs a fresh
//   second factor) is handed to the handler set with onStepUp, which asks
//   for a code (stepup.js); once it confirms one, the request is repeated.
// - request() never throws: it answers {ok, status, data, error, retryAfter}
//   where error is the API's {code, message}, or {code: "network"} when the
//   portal could not be reached.

const API = "/api";

let csrfToken = "";
let stepUpHandler = null;

// Sets the function that obtains a fresh second factor: it resolves true
// once the session is stepped up, false when the reader declined.
export function onStepUp(handler) {
  stepUpHandler = handler;
}

export function resetCSRF() {
  csrfToken = "";
}

async function fetchCSRF() {
  const response = await fetch(API + "/csrf", {
    method: "GET",
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) {
    throw new Error("csrf " + response.status);
  }
  const data = await response.json();
  if (!data || typeof data.token !== "string" || data.token === "") {
    throw new Error("csrf: no token");
  }
  csrfToken = data.token;
  return csrfToken;
}

async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, credentials: "same-origin", cache: "no-store", headers };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = csrfToken || (await fetchCSRF());
    headers["Content-Type"] = "application/json";
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
  }
  const response = await fetch(API + path, init);
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
  }
  const result = { ok: response.ok, status: response.status, data: response.ok ? data : null, error: null, retryAfter: 0 };
  if (!response.ok) {
    const err = data && data.error && typeof data.error === "object" ? data.error : {};
    result.error = {
      code: typeof err.code === "string" ? err.code : "http_" + response.status,
      message: typeof err.message === "string" ? err.message : "",
      // Not in the API yet: the input a 400 is about, when it says so.
      field: typeof err.field === "string" ? err.field : "",
    };
    const retry = parseInt(response.headers.get("Retry-After") || "", 10);
    result.retryAfter = Number.isFinite(retry) && retry > 0 ? retry : 0;
  }
  return result;
}

export async function request(method, path, body) {
  try {
    let result = await send(method, path, body);
    if (method !== "GET" && result.status === 403 && result.error.code === "csrf_invalid") {
      resetCSRF();
      result = await send(method, path, body);
    }
    if (result.status === 401 && result.error.code === "step_up_required" && stepUpHandler && (await stepUpHandler())) {
      result = await send(method, path, body);
    }
    return result;
  } catch (error) {
    return { ok: false, status: 0, data: null, error: { code: "network", message: "", field: "" }, retryAfter: 0 };
  }
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body === undefined ? {} : body);
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

// Path segment for an ID from the API.
export const seg = (value) => encodeURIComponent(String(value));

// The access groups' names in lang (GET /api/groups), by ID; null when the
// list cannot be read, and pages then show IDs.
export async function groupNames(lang) {
  const result = await get("/groups?lang=" + encodeURIComponent(lang));
  const groups = result.ok && result.data && Array.isArray(result.data.groups) ? result.data.groups : null;
  if (!groups) {
    return null;
  }
  return new Map(groups.filter((g) => g && typeof g.id === "string").map((g) => [g.id, String(g.name || g.id)]));
}
