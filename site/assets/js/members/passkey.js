// Passkeys in the browser: the WebAuthn calls between the portal's options
// and its check of the answer (api/passkeys.go). The options come as the
// JSON form of PublicKeyCredential{Creation,Request}Options, and the
// answer goes back as the credential's toJSON(), so no byte juggling here.

import { post } from "./api.js";

// passkeysSupported reports whether this browser can create and use
// passkeys with the JSON helpers the portal relies on.
export function passkeysSupported() {
  return (
    typeof window.PublicKeyCredential === "function" &&
    typeof window.PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof window.PublicKeyCredential.parseRequestOptionsFromJSON === "function" &&
    !!navigator.credentials
  );
}

// cancelled reports whether a WebAuthn call failed because the member
// dismissed it or let it time out, rather than because of an error.
export function cancelled(error) {
  return !!error && (error.name === "NotAllowedError" || error.name === "AbortError");
}

// createPasskey runs navigator.credentials.create with the portal's
// creation options and returns the credential as JSON.
export async function createPasskey(options) {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
  const credential = await navigator.credentials.create({ publicKey });
  return credential.toJSON();
}

// usePasskey runs navigator.credentials.get with the portal's request
// options and returns the assertion as JSON.
export async function usePasskey(options) {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
  const credential = await navigator.credentials.get({ publicKey });
  return credential.toJSON();
}

// assert runs one assertion ceremony: options from optionsPath, the
// member's passkey, the answer to answerPath. It answers like api.js's
// request, with error.code "passkey_cancelled" when the member dismissed
// the browser's prompt.
export async function assert(optionsPath, answerPath) {
  const options = await post(optionsPath);
  if (!options.ok) {
    return options;
  }
  let credential;
  try {
    credential = await usePasskey(options.data);
  } catch (error) {
    return {
      ok: false,
      status: 0,
      data: null,
      error: { code: cancelled(error) ? "passkey_cancelled" : "passkey_failed", message: "" },
      retryAfter: 0,
    };
  }
  return post(answerPath, { credential });
}

// stepUpWithPasskey proves with a passkey that the signed-in member is
// present (POST /api/session/step-up/passkey).
export function stepUpWithPasskey() {
  return assert("/session/step-up/passkey/options", "/session/step-up/passkey");
}
