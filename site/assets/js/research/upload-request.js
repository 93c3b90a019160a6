// Multipart uploads to the research API with a real progress bar:
// XMLHttpRequest (fetch reports no upload progress), same origin, cookies,
// and the CSRF token from GET /api/csrf in X-CSRF-Token. Answers like
// members/api.js request(): {ok, status, data, error, retryAfter}, never
// throws. A request refused with csrf_invalid is sent once more with a
// fresh token.

async function csrfToken() {
  const response = await fetch("/api/csrf", {
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
  return data.token;
}

function sendOnce(path, body, token, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api" + path);
    xhr.withCredentials = true;
    xhr.responseType = "text";
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", token);
    if (xhr.upload && onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) {
          onProgress(event.loaded / event.total, false);
        }
      });
      // Every byte is sent: the portal now reads and checks the file.
      xhr.upload.addEventListener("load", () => onProgress(1, true));
    }
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch (error) {
        data = null;
      }
      const ok = xhr.status >= 200 && xhr.status < 300;
      const result = { ok, status: xhr.status, data: ok ? data : null, error: null, retryAfter: 0 };
      if (!ok) {
        const err = data && data.error && typeof data.error === "object" ? data.error : {};
        result.error = {
          code: typeof err.code === "string" ? err.code : "http_" + xhr.status,
          message: typeof err.message === "string" ? err.message : "",
          field: "",
        };
        const retry = parseInt(xhr.getResponseHeader("Retry-After") || "", 10);
        result.retryAfter = Number.isFinite(retry) && retry > 0 ? retry : 0;
      }
      resolve(result);
    });
    const failed = () => resolve({ ok: false, status: 0, data: null, error: { code: "network", message: "", field: "" }, retryAfter: 0 });
    xhr.addEventListener("error", failed);
    xhr.addEventListener("abort", failed);
    xhr.addEventListener("timeout", failed);
    xhr.send(body);
  });
}

// build() returns a fresh FormData for each attempt.
export async function uploadForm(path, build, onProgress) {
  try {
    let result = await sendOnce(path, build(), await csrfToken(), onProgress);
    if (result.status === 403 && result.error && result.error.code === "csrf_invalid") {
      result = await sendOnce(path, build(), await csrfToken(), onProgress);
    }
    return result;
  } catch (error) {
    return { ok: false, status: 0, data: null, error: { code: "network", message: "", field: "" }, retryAfter: 0 };
  }
}

// The progress bar of partial research/file.html (id of the file input).
export function progressBar(fileInput) {
  const id = fileInput.id;
  const box = document.getElementById(id + "-progress-box");
  const bar = document.getElementById(id + "-progress");
  const value = document.getElementById(id + "-progress-value");
  const set = (fraction) => {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    bar.value = percent;
    value.textContent = percent + "%";
  };
  return {
    start() {
      set(0);
      box.hidden = false;
    },
    set,
    // Indeterminate while the portal reads the file.
    wait() {
      bar.removeAttribute("value");
      value.textContent = "";
    },
    hide() {
      box.hidden = true;
      set(0);
    },
    // report is uploadForm's progress callback: the bar follows the bytes
    // sent, then turns indeterminate, with onDone, while the portal reads
    // the file.
    report(onDone) {
      return (fraction, done) => {
        if (done) {
          this.wait();
          onDone();
        } else {
          set(fraction);
        }
      };
    },
  };
}
